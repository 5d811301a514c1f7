// Which chart a result gets, following Blazer's rules on the column kinds, and how a saved ChartConfig
// overrides that choice. Pure: the table tests in infer.spec.ts pin every rule.
import type { ResultColumn } from '../grid/result';
import type { Aggregate, ChartConfig } from './chart-config';

export type PlanType = 'line' | 'area' | 'bar' | 'stacked-bar' | 'scatter' | 'pie' | 'number';

/** A chart resolved against a result's columns: every field is a column index. */
export interface ChartPlan {
  type: PlanType;
  x: number;
  /** Numeric columns drawn as values (one series each unless `color` splits them). */
  y: number[];
  /** A column whose values split the rows into series (Blazer's line2 / bar2). */
  color?: number;
  /** A column named "target": drawn as a dashed goal line, not as a series. */
  target?: number;
  aggregate: Aggregate;
}

/** Blazer's three kinds: its rules only tell numbers, times and everything else apart. */
type BlazerKind = 'numeric' | 'time' | 'string';

function blazerKind(column: ResultColumn): BlazerKind {
  if (column.type === 'number') return 'numeric';
  if (column.type === 'time' || column.type === 'date') return 'time';
  return 'string';
}

const allNumeric = (kinds: BlazerKind[]) => kinds.length > 0 && kinds.every((kind) => kind === 'numeric');
const rest = (count: number, from: number) => Array.from({ length: count - from }, (_, i) => i + from);

/** Moves a numeric column named "target" out of the series and into a goal line. */
function withTarget(plan: ChartPlan, columns: ResultColumn[]): ChartPlan {
  const target = plan.y.find((index) => columns[index]!.name.toLowerCase() === 'target');
  if (target === undefined || plan.y.length < 2) return plan;
  return { ...plan, y: plan.y.filter((index) => index !== target), target };
}

/** The chart Blazer would draw for these columns, or undefined when none fits. */
export function inferChart(columns: ResultColumn[], rowCount: number): ChartPlan | undefined {
  const kinds = columns.map(blazerKind);
  const n = columns.length;
  const aggregate: Aggregate = 'none';
  if (n === 0 || rowCount === 0) return undefined;
  if (n === 1 && rowCount === 1) return { type: 'number', x: 0, y: [0], aggregate };
  if (n === 2 && kinds[1] === 'numeric' && columns[1]!.name.toLowerCase() === 'pie') {
    return { type: 'pie', x: 0, y: [1], aggregate };
  }
  if (n >= 2 && kinds[0] === 'time' && allNumeric(kinds.slice(1))) {
    return withTarget({ type: 'line', x: 0, y: rest(n, 1), aggregate }, columns);
  }
  if (n === 3 && kinds[0] === 'time' && kinds[1] === 'string' && kinds[2] === 'numeric') {
    return { type: 'line', x: 0, color: 1, y: [2], aggregate };
  }
  if (n >= 2 && kinds[0] === 'string' && allNumeric(kinds.slice(1))) {
    return withTarget({ type: 'bar', x: 0, y: rest(n, 1), aggregate }, columns);
  }
  if (n === 3 && kinds[0] === 'string' && kinds[1] === 'string' && kinds[2] === 'numeric') {
    return { type: 'stacked-bar', x: 0, color: 1, y: [2], aggregate };
  }
  if (n === 2 && kinds[0] === 'numeric' && kinds[1] === 'numeric') return { type: 'scatter', x: 0, y: [1], aggregate };
  return undefined;
}

const SPLITS_BY_COLOR: ReadonlySet<PlanType> = new Set(['line', 'area', 'bar', 'stacked-bar', 'scatter']);

/** The inferred chart with a saved config's choices applied; undefined draws no chart. */
export function resolveChart(config: ChartConfig, columns: ResultColumn[], rowCount: number): ChartPlan | undefined {
  if (config.type === 'none' || columns.length === 0 || rowCount === 0) return undefined;
  const inferred = inferChart(columns, rowCount);
  const indexOf = (name: string | undefined) => {
    const index = name === undefined ? -1 : columns.findIndex((column) => column.name === name);
    return index === -1 ? undefined : index;
  };
  const overridden =
    config.x !== undefined || config.y !== undefined || config.color !== undefined || config.aggregate !== undefined;
  if (config.type === 'auto' && !overridden) return inferred;

  const type: PlanType = config.type === 'auto' ? (inferred?.type ?? 'bar') : config.type;
  const x = indexOf(config.x) ?? inferred?.x ?? 0;
  const numeric = columns.map((column, index) => (column.type === 'number' && index !== x ? index : -1)).filter((i) => i >= 0);
  const savedY = (config.y ?? []).map(indexOf).filter((index): index is number => index !== undefined);
  const y = savedY.length
    ? savedY
    : inferred?.y.filter((index) => index !== x).length
      ? inferred.y.filter((i) => i !== x)
      : numeric.slice(0, 1);
  if (type !== 'number' && y.length === 0) return undefined;
  const color = SPLITS_BY_COLOR.has(type)
    ? (indexOf(config.color) ?? (config.color === undefined ? inferred?.color : undefined))
    : undefined;
  const plan: ChartPlan = {
    type,
    x,
    y: type === 'pie' || type === 'number' ? y.slice(0, 1) : y,
    aggregate: config.aggregate ?? 'none',
  };
  if (color !== undefined && color !== x) {
    plan.color = color;
    plan.y = plan.y.slice(0, 1);
  }
  if (type === 'number') plan.y = [y[0] ?? x];
  return type === 'line' || type === 'area' || type === 'bar' ? withTarget(plan, columns) : plan;
}

const KIND_NAMES: Record<ResultColumn['type'], string> = {
  number: 'a number',
  string: 'text',
  time: 'a time',
  date: 'a date',
  boolean: 'true/false',
  json: 'JSON',
  binary: 'binary',
};
const describeColumn = (column: ResultColumn) => `${column.name} is ${KIND_NAMES[column.type]}`;

/**
 * Why no chart is drawn, in one line, when resolveChart gives none (undefined when one is drawn or none
 * was asked for): the newcomer who sees an empty space learns which column is in the way.
 */
export function chartProblem(config: ChartConfig, columns: ResultColumn[], rowCount: number): string | undefined {
  if (config.type === 'none' || columns.length === 0 || resolveChart(config, columns, rowCount)) return undefined;
  if (rowCount === 0) return 'No chart: the query returned no rows.';
  if (config.type !== 'auto') return `No chart: a ${config.type} chart needs a number column to draw, and none is left.`;
  const kinds = columns.map(blazerKind);
  const [first] = columns;
  if (columns.length === 1)
    return `No chart: one column (${first!.name}) has nothing to be plotted against; a single row would show as a big number.`;
  if (kinds[0] === 'numeric') {
    return columns.length === 2
      ? `No chart: ${describeColumn(columns[1]!)}; after a number column Automatic draws a scatter of two numbers.`
      : `No chart: ${first!.name} is a number, so Automatic draws a scatter, which takes exactly two number columns (here ${columns.length}).`;
  }
  // A time or text column first: the rest must be numbers (or one text column, then one number).
  const splitBy = columns.length === 3 && kinds[1] === 'string' ? 2 : 1;
  const blocking = columns.slice(splitBy).find((column) => blazerKind(column) !== 'numeric') ?? columns[1]!;
  const choose = columns.some((column) => column.type === 'number') ? ' Pick a chart type to choose the columns yourself.' : '';
  return `No chart: ${describeColumn(blocking)}; Automatic draws ${first!.name} against number columns.${choose}`;
}
