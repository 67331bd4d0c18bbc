import { Inject } from '@nestjs/common';
import { InvalidArgumentError } from '../errors.ts';

/** The injection token of the map `name` registered with `ImdgoModule.forFeature` (for `module.get`). */
export function getMapToken(name: string): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError(`a map name is a non-empty string, got ${JSON.stringify(name)}`);
  }
  return `imdgo:map:${name}`;
}

/** Injects the map `name` (an `ImdgoMap`) that `ImdgoModule.forFeature([name])` registered. */
export function InjectMap(name: string): PropertyDecorator & ParameterDecorator {
  return Inject(getMapToken(name));
}
