// Turns result rows into the long-format points the Vega-Lite spec reads ({x, y, s}), aggregating when
// the chart asks for it and downsampling big results so a 100,000-row line still draws in well under a
// second: lines keep each bucket's first, min, max and last point (M4), so peaks and dips survive.
import type { CellValue, ResultColumn, ResultRow } from '../grid/result';
import type { Aggregate } from './chart-config';
import type { ChartPlan } from './infer';

export interface ChartPoint {
  x: number | string;
  y: number;
  /** The series: a column name (several y columns) or a value of the colour column. */
  s?: string;
}

export interface ChartData {
  points: ChartPoint[];
  target: ChartPoint[];
  /** Points before downsampling (after aggregation). */
  sourcePoints: number;
  downsampled: boolean;
  /** For a time x: the calendar step of its values (days, months, years), when it has one. */
  timeGrain?: TimeGrain;
}

/** Lines longer than this per series are reduced to MAX_LINE_BUCKETS buckets of up to 4 points. */
export const MAX_LINE_POINTS = 4_000;
const MAX_LINE_BUCKETS = 1_000;
export const MAX_SCATTER_POINTS = 5_000;
export const MAX_CATEGORIES = 500;
export const NULL_LABEL = '(null)';

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Milliseconds since the epoch; a plain date is local midnight so it shows as the same calendar day. */
export function timeValue(value: CellValue): number | undefined {
  if (typeof value !== 'string') return typeof value === 'number' ? value : undefined;
  const date = DATE_ONLY.exec(value);
  const ms = date ? new Date(Number(date[1]), Number(date[2]) - 1, Number(date[3])).getTime() : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function numberValue(value: CellValue): number | undefined {
  if (value === null || value === '' || typeof value === 'boolean') return undefined;
  const number = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(number) ? number : undefined;
}

const label = (value: CellValue) => (value === null ? NULL_LABEL : String(value));

function xValue(column: ResultColumn, value: CellValue): number | string | undefined {
  if (column.type === 'time' || column.type === 'date') return timeValue(value);
  if (column.type === 'number') return numberValue(value);
  return label(value);
}

function aggregatePoints(points: ChartPoint[], op: Aggregate): ChartPoint[] {
  const groups = new Map<string, { point: ChartPoint; sum: number; count: number; min: number; max: number }>();
  for (const point of points) {
    const key = `${typeof point.x}:${point.x}\u0000${point.s ?? ''}`;
    const group = groups.get(key);
    if (group) {
      group.sum += point.y;
      group.count++;
      group.min = Math.min(group.min, point.y);
      group.max = Math.max(group.max, point.y);
    } else groups.set(key, { point, sum: point.y, count: 1, min: point.y, max: point.y });
  }
  const result: ChartPoint[] = [];
  for (const { point, sum, count, min, max } of groups.values()) {
    const y = op === 'sum' ? sum : op === 'mean' ? sum / count : op === 'count' ? count : op === 'min' ? min : max;
    result.push({ ...point, y });
  }
  return result;
}

/** M4 downsampling of one series, sorted by x: per bucket the first, lowest, highest and last point. */
export function downsampleLine(points: ChartPoint[], buckets = MAX_LINE_BUCKETS): ChartPoint[] {
  if (points.length <= buckets * 4) return points;
  const size = points.length / buckets;
  const kept: ChartPoint[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size);
    const end = Math.min(points.length, Math.floor((b + 1) * size));
    if (end <= start) continue;
    let low = start;
    let high = start;
    for (let i = start + 1; i < end; i++) {
      if (points[i]!.y < points[low]!.y) low = i;
      if (points[i]!.y > points[high]!.y) high = i;
    }
    for (const index of [...new Set([start, low, high, end - 1])].sort((a, b) => a - b)) kept.push(points[index]!);
  }
  return kept;
}

function bySeries(points: ChartPoint[]): Map<string | undefined, ChartPoint[]> {
  const series = new Map<string | undefined, ChartPoint[]>();
  for (const point of points) {
    const list = series.get(point.s);
    if (list) list.push(point);
    else series.set(point.s, [point]);
  }
  return series;
}

const byX = (a: ChartPoint, b: ChartPoint) => (a.x < b.x ? -1 : a.x > b.x ? 1 : 0);

export function chartData(plan: ChartPlan, columns: ResultColumn[], rows: readonly ResultRow[]): ChartData {
  const xColumn = columns[plan.x]!;
  let points: ChartPoint[] = [];
  const target: ChartPoint[] = [];
  const seriesName = (row: ResultRow, y: number) =>
    plan.color !== undefined ? label(row[plan.color] ?? null) : plan.y.length > 1 ? columns[y]!.name : undefined;

  for (const row of rows) {
    const x = xValue(xColumn, row[plan.x] ?? null);
    if (x === undefined) continue;
    for (const yIndex of plan.y) {
      const y = plan.aggregate === 'count' ? 1 : numberValue(row[yIndex] ?? null);
      if (y === undefined) continue;
      const s = seriesName(row, yIndex);
      points.push(s === undefined ? { x, y } : { x, y, s });
    }
    if (plan.target !== undefined) {
      const y = numberValue(row[plan.target] ?? null);
      if (y !== undefined) target.push({ x, y });
    }
  }
  if (plan.aggregate !== 'none') points = aggregatePoints(points, plan.aggregate);
  const sourcePoints = points.length;
  let downsampled = false;

  if (plan.type === 'line' || plan.type === 'area') {
    const reduced: ChartPoint[] = [];
    for (const series of bySeries(points).values()) {
      if (series.length > MAX_LINE_POINTS) {
        downsampled = true;
        reduced.push(...downsampleLine(series.sort(byX)));
      } else reduced.push(...series);
    }
    points = reduced;
  } else if (plan.type === 'scatter' && points.length > MAX_SCATTER_POINTS) {
    const step = points.length / MAX_SCATTER_POINTS;
    points = Array.from({ length: MAX_SCATTER_POINTS }, (_, i) => points[Math.floor(i * step)]!);
    downsampled = true;
  } else if (plan.type === 'bar' || plan.type === 'stacked-bar' || plan.type === 'pie') {
    const categories = new Set<number | string>();
    points = points.filter((point) => {
      if (categories.has(point.x)) return true;
      if (categories.size >= MAX_CATEGORIES) return false;
      categories.add(point.x);
      return true;
    });
    downsampled = points.length < sourcePoints;
  }
  if (xColumn.type !== 'time' && xColumn.type !== 'date') return { points, target, sourcePoints, downsampled };
  const grain = timeGrain(points.map((point) => point.x as number));
  if (grain?.utc)
    return { points: localCalendar(points), target: localCalendar(target), sourcePoints, downsampled, timeGrain: grain };
  return { points, target, sourcePoints, downsampled, timeGrain: grain };
}

const DAY_MS = 86_400_000;

/** The calendar step a time series moves in, read from its values, and whether that calendar is UTC's. */
export interface TimeGrain {
  grain: 'day' | 'month' | 'year';
  /** The values are midnights in UTC but not in the user's zone (a timestamptz truncated on a UTC server). */
  utc: boolean;
  /** Days from the first value to the last, inclusive. */
  spanDays: number;
}

/**
 * Daily, monthly or yearly when every x is a midnight (the first of a month, the first of January) in the
 * user's zone, or else in UTC; undefined for anything finer (hourly data keeps Vega's own ticks).
 */
export function timeGrain(xs: readonly number[]): TimeGrain | undefined {
  if (xs.length === 0) return undefined;
  let first = Infinity;
  let last = -Infinity;
  for (const x of xs) {
    if (x < first) first = x;
    if (x > last) last = x;
  }
  const spanDays = Math.round((last - first) / DAY_MS) + 1;
  for (const utc of [false, true]) {
    const parts = (x: number) => {
      const d = new Date(x);
      return utc
        ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds(), d.getUTCDate(), d.getUTCMonth()]
        : [d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds(), d.getDate(), d.getMonth()];
    };
    let midnights = true;
    let firsts = true;
    let januaries = true;
    for (const x of xs) {
      const [h, m, s, ms, date, month] = parts(x);
      if (h || m || s || ms) {
        midnights = false;
        break;
      }
      if (date !== 1) firsts = false;
      if (month !== 0) januaries = false;
    }
    // One distinct value says nothing about months or years: it is a day.
    if (midnights) return { grain: firsts && last > first ? (januaries ? 'year' : 'month') : 'day', utc, spanDays };
  }
  return undefined;
}

/**
 * A series of UTC midnights (a timestamptz truncated to days on a server in UTC) as the same calendar days
 * at local midnight, so the chart labels and spaces them as days, as the query meant them.
 */
export function localCalendar(points: readonly ChartPoint[]): ChartPoint[] {
  return points.map((point) => {
    const date = new Date(point.x as number);
    return { ...point, x: new Date(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()).getTime() };
  });
}

/** Every value is a whole number (counts): the axis then has whole-number ticks only. */
export function wholeNumbers(points: readonly ChartPoint[]): boolean {
  return points.length > 0 && points.every((point) => Number.isInteger(point.y));
}
