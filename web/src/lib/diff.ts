// Line and word diffs for the version history: Myers' O(ND) algorithm (the one git uses by default),
// a unified view with collapsed context and a side-by-side pairing of the same result.

export type DiffKind = 'same' | 'add' | 'del';

export interface DiffLine {
  kind: DiffKind;
  text: string;
  /** 1-based line numbers in the old and the new text (absent on the side the line is not on). */
  oldLine?: number;
  newLine?: number;
}

interface Edit {
  kind: DiffKind;
  a?: number;
  b?: number;
}

/** Past this many differences the diff gives up on finesse: everything old removed, everything new added. */
const MAX_EDIT_DISTANCE = 2000;

/** The shortest edit script turning `a` into `b`, as indices into both. */
export function diffSequences<T>(a: readonly T[], b: readonly T[]): Edit[] {
  // Common prefix and suffix first: most edits touch a few lines of a longer text.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const head: Edit[] = Array.from({ length: start }, (_, i) => ({ kind: 'same', a: i, b: i }));
  const tail: Edit[] = Array.from({ length: a.length - endA }, (_, i) => ({ kind: 'same', a: endA + i, b: endB + i }));
  return [...head, ...myers(a, b, start, endA, start, endB), ...tail];
}

function myers<T>(a: readonly T[], b: readonly T[], a0: number, a1: number, b0: number, b1: number): Edit[] {
  const n = a1 - a0;
  const m = b1 - b0;
  if (n === 0 || m === 0) return replaceAll(a0, a1, b0, b1);
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] holds v[-d..d] as it was before step d, enough to walk the path back.
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[a0 + x] === b[b0 + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, n, m, a0, b0);
    }
  }
  return replaceAll(a0, a1, b0, b1);
}

function backtrack(trace: Int32Array[], n: number, m: number, a0: number, b0: number): Edit[] {
  const edits: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const v = trace[d]!;
    const at = (k: number) => v[k + d]!; // v holds k = -d..d
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = d === 0 ? 0 : prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      edits.push({ kind: 'same', a: a0 + x, b: b0 + y });
    }
    if (d === 0) break;
    if (x === prevX) edits.push({ kind: 'add', b: b0 + prevY });
    else edits.push({ kind: 'del', a: a0 + prevX });
    x = prevX;
    y = prevY;
  }
  return edits.reverse();
}

function replaceAll(a0: number, a1: number, b0: number, b1: number): Edit[] {
  const edits: Edit[] = [];
  for (let i = a0; i < a1; i++) edits.push({ kind: 'del', a: i });
  for (let j = b0; j < b1; j++) edits.push({ kind: 'add', b: j });
  return edits;
}

const splitLines = (text: string) => (text === '' ? [] : text.replace(/\r\n?/g, '\n').split('\n'));

export function diffLines(oldText: string, newText: string): DiffLine[] {
  const a = splitLines(oldText);
  const b = splitLines(newText);
  return diffSequences(a, b).map((edit) => {
    if (edit.kind === 'same') return { kind: 'same', text: a[edit.a!]!, oldLine: edit.a! + 1, newLine: edit.b! + 1 };
    if (edit.kind === 'del') return { kind: 'del', text: a[edit.a!]!, oldLine: edit.a! + 1 };
    return { kind: 'add', text: b[edit.b!]!, newLine: edit.b! + 1 };
  });
}

export interface DiffStats {
  added: number;
  removed: number;
}

export function diffStats(lines: readonly DiffLine[]): DiffStats {
  return { added: lines.filter((l) => l.kind === 'add').length, removed: lines.filter((l) => l.kind === 'del').length };
}

/** A run of unchanged lines folded away in the unified view. */
export interface FoldedLines {
  kind: 'fold';
  count: number;
  lines: DiffLine[];
}

/** Keeps `context` unchanged lines around each change and folds longer unchanged runs. */
export function withContext(lines: readonly DiffLine[], context = 3): Array<DiffLine | FoldedLines> {
  const out: Array<DiffLine | FoldedLines> = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i]!.kind !== 'same') {
      out.push(lines[i]!);
      i++;
      continue;
    }
    let j = i;
    while (j < lines.length && lines[j]!.kind === 'same') j++;
    const run = lines.slice(i, j);
    const keepBefore = i === 0 ? 0 : context;
    const keepAfter = j === lines.length ? 0 : context;
    if (run.length > keepBefore + keepAfter + 1) {
      out.push(...run.slice(0, keepBefore));
      const folded = run.slice(keepBefore, run.length - keepAfter);
      out.push({ kind: 'fold', count: folded.length, lines: folded });
      out.push(...run.slice(run.length - keepAfter));
    } else out.push(...run);
    i = j;
  }
  return out;
}

export interface SideBySideRow {
  left?: DiffLine;
  right?: DiffLine;
}

/** Pairs each block of removed lines with the added lines that replace it, row by row. */
export function sideBySide(lines: readonly DiffLine[]): SideBySideRow[] {
  const rows: SideBySideRow[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.kind === 'same') {
      rows.push({ left: line, right: line });
      i++;
      continue;
    }
    const dels: DiffLine[] = [];
    const adds: DiffLine[] = [];
    while (i < lines.length && lines[i]!.kind !== 'same') {
      (lines[i]!.kind === 'del' ? dels : adds).push(lines[i]!);
      i++;
    }
    for (let r = 0; r < Math.max(dels.length, adds.length); r++) rows.push({ left: dels[r], right: adds[r] });
  }
  return rows;
}

/** Character ranges [start, end) of a line that differ from its counterpart, by word. */
export function changedRanges(from: string, to: string): Array<[number, number]> {
  const words = (text: string) => text.match(/\w+|\s+|[^\w\s]/g) ?? [];
  const a = words(from);
  const b = words(to);
  const ranges: Array<[number, number]> = [];
  let position = 0;
  for (const edit of diffSequences(a, b)) {
    if (edit.kind === 'del') continue;
    const length = b[edit.b!]!.length;
    if (edit.kind === 'add') {
      const last = ranges.at(-1);
      if (last && last[1] === position) last[1] += length;
      else ranges.push([position, position + length]);
    }
    position += length;
  }
  return ranges;
}

/** For each line of a side-by-side or unified diff: its changed words, when it replaces a single line. */
export function pairChanges(lines: readonly DiffLine[]): Map<DiffLine, Array<[number, number]>> {
  const changes = new Map<DiffLine, Array<[number, number]>>();
  for (const row of sideBySide(lines)) {
    if (row.left && row.right && row.left.kind === 'del' && row.right.kind === 'add') {
      changes.set(row.left, changedRanges(row.right.text, row.left.text));
      changes.set(row.right, changedRanges(row.left.text, row.right.text));
    }
  }
  return changes;
}
