// Initial column widths from the header and the widest value of the whole column, so a column fits its
// values down to the last row (a width from the first rows only cut 10000 to "100…" at the bottom).
import { cellText } from './format';
import type { ResultColumn, ResultRow } from './result';

const CHAR_WIDTH = 7.6;
const PADDING = 26;
export const MIN_WIDTH = 56;
const MAX_INITIAL_WIDTH = 420;
const SAMPLE_ROWS = 200;

/**
 * The value whose raw text is longest in the whole column: formatting (digit grouping, time zones) keeps the
 * order of lengths closely enough that formatting this one and a sample bounds the column. One pass, no
 * formatting per row, so 100k rows stay quick.
 */
function longestRaw(rows: readonly ResultRow[], index: number): ResultRow[number] {
  let widest: ResultRow[number] = null;
  let widestLength = -1;
  for (const row of rows) {
    const value = row[index] ?? null;
    if (value === null) continue;
    const length = typeof value === 'string' ? value.length : String(value).length;
    if (length > widestLength) {
      widest = value;
      widestLength = length;
    }
  }
  return widest;
}

export function initialWidths(columns: ResultColumn[], rows: readonly ResultRow[]): number[] {
  const sample = rows.slice(0, SAMPLE_ROWS);
  return columns.map((column, index) => {
    let longest = column.name.length + 2; // room for the sort arrow
    for (const row of sample) longest = Math.max(longest, cellText(row[index] ?? null, column.type, column.name).length);
    longest = Math.max(longest, cellText(longestRaw(rows, index), column.type, column.name).length);
    return Math.round(Math.min(MAX_INITIAL_WIDTH, Math.max(MIN_WIDTH, longest * CHAR_WIDTH + PADDING)));
  });
}
