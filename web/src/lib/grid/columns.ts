// Initial column widths from the header and a sample of values, so most columns fit without a resize.
import { cellText } from './format';
import type { ResultColumn, ResultRow } from './result';

const CHAR_WIDTH = 7.6;
const PADDING = 26;
export const MIN_WIDTH = 56;
const MAX_INITIAL_WIDTH = 420;
const SAMPLE_ROWS = 200;

export function initialWidths(columns: ResultColumn[], rows: readonly ResultRow[]): number[] {
  const sample = rows.slice(0, SAMPLE_ROWS);
  return columns.map((column, index) => {
    let longest = column.name.length + 2; // room for the sort arrow
    for (const row of sample) longest = Math.max(longest, cellText(row[index] ?? null, column.type, column.name).length);
    return Math.round(Math.min(MAX_INITIAL_WIDTH, Math.max(MIN_WIDTH, longest * CHAR_WIDTH + PADDING)));
  });
}
