import { describe, expect, it } from 'vitest';
import { sizeByKind } from './heap-top.ts';

describe('heap-top', () => {
  it('sums self sizes by node type, objects and closures by constructor, strings by kind only', () => {
    const fields = ['type', 'name', 'id', 'self_size', 'edge_count'];
    const types = ['hidden', 'array', 'string', 'object', 'code', 'closure'];
    const strings = ['Map', 'some text', 'other text', 'onData'];
    const node = (type: string, name: number, size: number) => [types.indexOf(type), name, 0, size, 0];
    const snapshot = {
      snapshot: { meta: { node_fields: fields, node_types: [types] as [string[]] } },
      nodes: [
        ...node('object', 0, 40),
        ...node('object', 0, 24),
        ...node('string', 1, 32),
        ...node('string', 2, 16),
        ...node('code', 3, 100),
        ...node('closure', 3, 8),
      ],
      strings,
    };
    expect(Object.fromEntries(sizeByKind(snapshot))).toEqual({
      'object Map': { bytes: 64, count: 2 },
      string: { bytes: 48, count: 2 },
      code: { bytes: 100, count: 1 },
      'closure onData': { bytes: 8, count: 1 },
    });
  });
});
