import { describe, expect, it } from 'vitest';
import { RowsMemo } from './rows-memo.js';

// Buffer.alloc below the pool size still gets its own memory (only allocUnsafe and from() use the pool).
const rows = (bytes: number) => Buffer.alloc(bytes);

describe('RowsMemo', () => {
  it('keeps rows within its byte budget, least recently used out first', () => {
    const memo = new RowsMemo(100);
    memo.set('a', rows(40));
    memo.set('b', rows(40));
    expect(memo.get('a')?.length).toBe(40); // a is now the most recently used
    memo.set('c', rows(40));
    expect(memo.get('b')).toBeUndefined();
    expect(memo.get('a')).toBeDefined();
    expect(memo.get('c')).toBeDefined();
    expect(memo.size).toEqual({ entries: 2, bytes: 80 });
  });

  it('never holds rows larger than the budget, and counts replaced rows once', () => {
    const memo = new RowsMemo(100);
    memo.set('big', rows(101));
    expect(memo.get('big')).toBeUndefined();
    memo.set('a', rows(30));
    memo.set('a', rows(50));
    expect(memo.size).toEqual({ entries: 1, bytes: 50 });
    memo.delete('a');
    expect(memo.size).toEqual({ entries: 0, bytes: 0 });
  });

  it('counts the whole memory rows keep alive, not only its length', () => {
    const memo = new RowsMemo(100);
    const chunk = Buffer.alloc(80);
    memo.set('view', chunk.subarray(0, 10));
    expect(memo.size).toEqual({ entries: 1, bytes: 80 });
    memo.set('other', rows(30)); // 110 > 100: the view (oldest) goes
    expect(memo.get('view')).toBeUndefined();
    expect(memo.size).toEqual({ entries: 1, bytes: 30 });
  });
});
