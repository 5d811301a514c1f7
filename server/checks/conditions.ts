// What makes a check fail, judged on a query's result. Pure functions: the runner hands them the
// columns and rows the engine returned.
//   rows       failing when the query returns any row (bad data: "orders with no customer")
//   no_rows    failing when it returns none (missing data: "nothing imported today")
//   threshold  the named column of the first row compared with a number
//   anomaly    the last point of a time series outside a robust band of the points before it:
//              median ± k × MAD (median absolute deviation), k = 3 by default, at least 8 points. With
//              weekly seasonality only points exactly a whole number of weeks before the last one are
//              compared (same weekday and time of day), so a quiet Sunday is judged against Sundays.
//              A MAD of 0 (all earlier points equal) makes any other value anomalous.
export type Comparison = '>' | '>=' | '<' | '<=' | '=' | '!=';

export type Condition =
  | { kind: 'rows' }
  | { kind: 'no_rows' }
  | { kind: 'threshold'; column: string; op: Comparison; value: number }
  | { kind: 'anomaly'; column: string; timeColumn?: string; k?: number; seasonality?: 'none' | 'weekly' };

export const ANOMALY_MIN_POINTS = 8;
export const ANOMALY_DEFAULT_K = 3;
const WEEK_MS = 7 * 24 * 60 * 60 * 1000;

export interface ResultForCheck {
  columns: Array<{ name: string }>;
  rows: unknown[][];
}

export interface Verdict {
  /** `error` here means the condition could not be judged (e.g. a missing column), not a failed run. */
  state: 'ok' | 'failing' | 'error';
  reason: string;
}

export function evaluate(condition: Condition, result: ResultForCheck): Verdict {
  const count = result.rows.length;
  switch (condition.kind) {
    case 'rows':
      return count > 0
        ? { state: 'failing', reason: `The query returned ${plural(count, 'row')}.` }
        : { state: 'ok', reason: 'The query returned no rows.' };
    case 'no_rows':
      return count === 0
        ? { state: 'failing', reason: 'The query returned no rows.' }
        : { state: 'ok', reason: `The query returned ${plural(count, 'row')}.` };
    case 'threshold':
      return threshold(condition, result);
    case 'anomaly':
      return anomaly(condition, result);
  }
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

function columnIndex(result: ResultForCheck, name: string): number {
  return result.columns.findIndex((column) => column.name === name);
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

export function compare(left: number, op: Comparison, right: number): boolean {
  switch (op) {
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '=':
      return left === right;
    case '!=':
      return left !== right;
  }
}

function threshold(condition: Extract<Condition, { kind: 'threshold' }>, result: ResultForCheck): Verdict {
  const index = columnIndex(result, condition.column);
  if (index < 0) return { state: 'error', reason: `The result has no column "${condition.column}".` };
  if (result.rows.length === 0) return { state: 'error', reason: 'The query returned no rows to compare.' };
  const value = asNumber(result.rows[0]![index]);
  if (value === undefined) return { state: 'error', reason: `"${condition.column}" in the first row is not a number.` };
  const failing = compare(value, condition.op, condition.value);
  return {
    state: failing ? 'failing' : 'ok',
    reason: failing
      ? `${condition.column} is ${value}, which is ${condition.op} ${condition.value}.`
      : `${condition.column} is ${value}, not ${condition.op} ${condition.value}.`,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function asTime(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string' || typeof value === 'number') {
    const time = new Date(value).getTime();
    return Number.isNaN(time) ? undefined : time;
  }
  return undefined;
}

function anomaly(condition: Extract<Condition, { kind: 'anomaly' }>, result: ResultForCheck): Verdict {
  const valueIndex = columnIndex(result, condition.column);
  if (valueIndex < 0) return { state: 'error', reason: `The result has no column "${condition.column}".` };
  const weekly = condition.seasonality === 'weekly';
  const timeColumn = condition.timeColumn ?? result.columns.find((_, i) => i !== valueIndex)?.name;
  const timeIndex = timeColumn === undefined ? -1 : columnIndex(result, timeColumn);
  if (weekly && timeIndex < 0) return { state: 'error', reason: 'Weekly seasonality needs a time column.' };

  let points = result.rows.map((row) => ({
    value: asNumber(row[valueIndex]),
    time: timeIndex < 0 ? undefined : asTime(row[timeIndex]),
  }));
  if (points.some((p) => p.value === undefined))
    return { state: 'error', reason: `"${condition.column}" has values that are not numbers.` };
  if (timeIndex >= 0) {
    if (points.some((p) => p.time === undefined))
      return { state: 'error', reason: `"${timeColumn}" has values that are not times.` };
    points = [...points].sort((a, b) => a.time! - b.time!);
  }
  const last = points.at(-1);
  if (!last) return { state: 'error', reason: 'The query returned no rows.' };
  const previous = points
    .slice(0, -1)
    .filter((p) => !weekly || ((last.time! - p.time!) % WEEK_MS === 0 && last.time! > p.time!))
    .map((p) => p.value!);
  if (previous.length < ANOMALY_MIN_POINTS) {
    const like = weekly ? ' on the same weekday and time' : '';
    return {
      state: 'error',
      reason: `Anomaly detection needs at least ${ANOMALY_MIN_POINTS} earlier points${like}; the result has ${previous.length}.`,
    };
  }
  const k = condition.k ?? ANOMALY_DEFAULT_K;
  const center = median(previous);
  const mad = median(previous.map((v) => Math.abs(v - center)));
  const low = center - k * mad;
  const high = center + k * mad;
  const value = last.value!;
  const outside = value < low || value > high;
  const band = `${round(low)} to ${round(high)} (median ${round(center)} ± ${k} × MAD ${round(mad)} over ${previous.length} points)`;
  return {
    state: outside ? 'failing' : 'ok',
    reason: outside ? `The last value ${round(value)} is outside ${band}.` : `The last value ${round(value)} is within ${band}.`,
  };
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
