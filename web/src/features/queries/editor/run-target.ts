// What Ctrl/Cmd+Enter runs: the selection when there is one, else the whole editor; `offset` places the
// engine's error position back in the editor.

export interface RunTarget {
  sql: string;
  /** Where `sql` starts in the editor's text. */
  offset: number;
}

export function runTarget(doc: string, selection: { from: number; to: number }): RunTarget {
  if (selection.to > selection.from && doc.slice(selection.from, selection.to).trim()) {
    return { sql: doc.slice(selection.from, selection.to), offset: selection.from };
  }
  return { sql: doc, offset: 0 };
}

/** The range to mark for an error at `offset`: the word there, or one character. */
export function errorRange(doc: string, offset: number): { from: number; to: number } {
  const from = Math.max(0, Math.min(offset, doc.length));
  let to = from;
  while (to < doc.length && /[\w$"'.]/.test(doc[to]!)) to++;
  if (to === from) to = Math.min(doc.length, from + 1);
  if (to === from && from > 0) return { from: from - 1, to: from };
  return { from, to };
}
