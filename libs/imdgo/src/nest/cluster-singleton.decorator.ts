import 'reflect-metadata';

export const CLUSTER_SINGLETON = 'imdgo:cluster-singleton';

/** Per provider instance and singleton name: whether this node runs it now (set by the explorer). */
const guards = new WeakMap<object, Map<string, () => boolean>>();

/** Lets `instance`'s methods marked `@ClusterSingleton(name)` run while `runsHere()` says so. */
export function guardSingleton(instance: object, name: string, runsHere: () => boolean): void {
  let byName = guards.get(instance);
  if (!byName) {
    byName = new Map();
    guards.set(instance, byName);
  }
  byName.set(name, runsHere);
}

/**
 * Runs the method only on the node that leads the election `name` (`store.election(name)`); elsewhere a
 * call does nothing and returns undefined. Every node campaigns for it at startup, so when the leader's node
 * dies another takes over once its lock session expires. Typically under `@Cron` or `@Interval`, in either
 * order: the scheduler's metadata is kept on the wrapped method.
 */
export function ClusterSingleton(name: string): MethodDecorator {
  if (typeof name !== 'string' || name.length === 0)
    throw new TypeError('@ClusterSingleton needs a non-empty election name');
  return (_target, _key, descriptor) => {
    const original = descriptor.value as unknown as (...args: unknown[]) => unknown;
    if (typeof original !== 'function') throw new TypeError('@ClusterSingleton decorates methods');
    const wrapped = function (this: object, ...args: unknown[]): unknown {
      if (!guards.get(this)?.get(name)?.()) return undefined;
      return original.apply(this, args);
    };
    for (const key of Reflect.getOwnMetadataKeys(original)) {
      Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapped);
    }
    Object.defineProperty(wrapped, 'name', { value: original.name });
    Reflect.defineMetadata(CLUSTER_SINGLETON, name, wrapped);
    descriptor.value = wrapped as typeof descriptor.value;
    return descriptor;
  };
}
