import { describe, expect, it } from 'vitest';
import { BodyMemo } from './body-memo.js';

// Buffer.alloc below the pool size still gets its own memory (only allocUnsafe and from() use the pool).
const packed = (bytes: number) => ({ encoding: 'zstd' as const, body: Buffer.alloc(bytes) });

describe('BodyMemo', () => {
  it('keeps bodies within its byte budget, least recently used out first', () => {
    const memo = new BodyMemo(100);
    memo.set('a', packed(40));
    memo.set('b', packed(40));
    expect(memo.get('a')?.body.length).toBe(40); // a is now the most recently used
    memo.set('c', packed(40));
    expect(memo.get('b')).toBeUndefined();
    expect(memo.get('a')).toBeDefined();
    expect(memo.get('c')).toBeDefined();
    expect(memo.size).toEqual({ entries: 2, bytes: 80 });
  });

  it('never holds a body larger than the budget, and counts a replaced body once', () => {
    const memo = new BodyMemo(100);
    memo.set('big', packed(101));
    expect(memo.get('big')).toBeUndefined();
    memo.set('a', packed(30));
    memo.set('a', packed(50));
    expect(memo.size).toEqual({ entries: 1, bytes: 50 });
    memo.delete('a');
    expect(memo.size).toEqual({ entries: 0, bytes: 0 });
  });

  it('counts the whole memory a body keeps alive, not only its length', () => {
    const memo = new BodyMemo(100);
    const chunk = Buffer.alloc(80);
    memo.set('view', { encoding: 'zstd', body: chunk.subarray(0, 10) });
    expect(memo.size).toEqual({ entries: 1, bytes: 80 });
    memo.set('other', packed(30)); // 110 > 100: the view (oldest) goes
    expect(memo.get('view')).toBeUndefined();
    expect(memo.size).toEqual({ entries: 1, bytes: 30 });
  });
});
