import { describe, expect, it } from 'vitest';
import { appendKvModel } from './append-kv.ts';

function get(key: string) {
  return {
    clientId: 0,
    input: { op: 'get' as const, key, value: '' },
    call: 0,
    output: { value: '' },
    return: 1,
  };
}

describe('appendKvModel', () => {
  it('reads "" when absent, replaces on put and concatenates on append', () => {
    const start = appendKvModel.init();
    expect(appendKvModel.step(start, { op: 'get', key: 'k', value: '' }, { value: '' }).ok).toBe(true);
    const put = appendKvModel.step(start, { op: 'put', key: 'k', value: 'x' }, { ok: true });
    const appended = appendKvModel.step(put.state, { op: 'append', key: 'k', value: 'y' }, { ok: true });
    expect(appended.state).toBe('xy');
    expect(appendKvModel.step(appended.state, { op: 'get', key: 'k', value: '' }, { value: 'x' }).ok).toBe(
      false,
    );
  });

  it('partitions by key', () => {
    const [a1, b, a2] = [get('a'), get('b'), get('a')];
    expect(appendKvModel.partition?.([a1, b, a2])).toEqual([[a1, a2], [b]]);
  });
});
