import { describe, expect, it } from 'vitest';
import { changedRanges, diffLines, diffSequences, diffStats, sideBySide, withContext, type DiffLine } from './diff';

/** Applies an edit script to `a`; it must give `b`. */
function apply(a: string[], b: string[]) {
  const out: string[] = [];
  for (const edit of diffSequences(a, b)) {
    if (edit.kind === 'same') {
      expect(a[edit.a!]).toBe(b[edit.b!]);
      out.push(a[edit.a!]!);
    } else if (edit.kind === 'add') out.push(b[edit.b!]!);
  }
  return out;
}

const render = (lines: DiffLine[]) => lines.map((l) => `${{ same: ' ', add: '+', del: '-' }[l.kind]}${l.text}`);

describe('diff', () => {
  it('finds the shortest edit between two versions of a query', () => {
    const v1 = 'select id, status\nfrom notifications\nwhere status = {status}\norder by id';
    const v2 = 'select id, status, sent_at\nfrom notifications\nwhere status = {status}\n  and sent_at > {since_at}\norder by id';
    const lines = diffLines(v1, v2);
    expect(render(lines)).toEqual([
      '-select id, status',
      '+select id, status, sent_at',
      ' from notifications',
      ' where status = {status}',
      '+  and sent_at > {since_at}',
      ' order by id',
    ]);
    expect(diffStats(lines)).toEqual({ added: 2, removed: 1 });
    expect(lines.map((l) => [l.oldLine, l.newLine])).toEqual([
      [1, undefined],
      [undefined, 1],
      [2, 2],
      [3, 3],
      [undefined, 4],
      [4, 5],
    ]);
  });

  it('turns a into b for random edits, with no more edits than replacing everything', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 300; round++) {
      const a = Array.from({ length: Math.floor(random() * 30) }, () => 'abcde'[Math.floor(random() * 5)]!);
      const b = a.filter(() => random() > 0.3).map((x) => (random() > 0.8 ? 'xyz'[Math.floor(random() * 3)]! : x));
      if (random() > 0.5) b.splice(Math.floor(random() * b.length), 0, 'q', 'a');
      expect(apply(a, b)).toEqual(b);
      const changes = diffSequences(a, b).filter((e) => e.kind !== 'same').length;
      expect(changes).toBeLessThanOrEqual(a.length + b.length);
    }
    expect(
      diffSequences(['a', 'b', 'c', 'a', 'b', 'b', 'a'], ['c', 'b', 'a', 'b', 'a', 'c']).filter((e) => e.kind !== 'same'),
    ).toHaveLength(5);
  });

  it('handles empty texts, identical texts and CRLF', () => {
    expect(render(diffLines('', 'select 1'))).toEqual(['+select 1']);
    expect(render(diffLines('select 1', ''))).toEqual(['-select 1']);
    expect(render(diffLines('a\r\nb', 'a\nb'))).toEqual([' a', ' b']);
  });

  it('folds long unchanged runs and pairs replaced lines side by side', () => {
    const old = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
    const next = old.replace('line 10', 'line ten');
    const shown = withContext(diffLines(old, next), 2);
    expect(shown.map((l) => (l.kind === 'fold' ? `(${l.count})` : l.kind))).toEqual([
      '(8)',
      'same',
      'same',
      'del',
      'add',
      'same',
      'same',
      '(7)',
    ]);
    const rows = sideBySide(diffLines('a\nb\nc', 'a\nB\nB2\nc'));
    expect(rows.map((r) => [r.left?.text, r.right?.text])).toEqual([
      ['a', 'a'],
      ['b', 'B'],
      [undefined, 'B2'],
      ['c', 'c'],
    ]);
  });

  it('marks the words that changed within a line', () => {
    const to = 'select id, status, sent_at from t';
    const ranges = changedRanges('select id, status from t', to);
    expect(ranges.map(([s, e]) => to.slice(s, e))).toEqual([', sent_at']);
  });

  it('stays fast on large, very different texts', () => {
    const a = Array.from({ length: 5000 }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: 5000 }, (_, i) => `b${i}`).join('\n');
    const started = performance.now();
    expect(diffStats(diffLines(a, b))).toEqual({ added: 5000, removed: 5000 });
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
