// The Vega-Lite spec for a ChartPlan. Data is always long-format points with the fixed fields x, y and
// s (see chart-data.ts), so column names never become field expressions: a name with dots, brackets or
// markup is only ever a title, which Vega draws as text.
import type { ResultColumn } from '../grid/result';
import type { TimeGrain } from './chart-data';
import type { ChartPlan } from './infer';

export interface ChartColors {
  text: string;
  muted: string;
  grid: string;
  accent: string;
  goal: string;
}

export interface SpecOptions {
  width: number;
  height: number;
  title?: string;
  colors: ChartColors;
  /** Points drawn: small lines get point markers. */
  pointCount?: number;
  /** Distinct x values, for category axes: labels stay level while they fit. */
  categories?: number;
  /** The calendar step of a time x (chart-data.ts timeGrain): daily data gets day ticks, not "12 PM" between days. */
  timeGrain?: TimeGrain;
  /** The values are whole numbers (counts): ticks 0, 1, 2, never 0.2. */
  wholeNumbers?: boolean;
}

export type VegaLiteSpec = Record<string, unknown>;
type Encoding = Record<string, Record<string, unknown>>;

/** Names of the data sets the spec reads; the renderer inserts the values into them. */
export const POINTS_DATA = 'points';
export const TARGET_DATA = 'target';

function xType(column: ResultColumn): 'temporal' | 'quantitative' | 'nominal' {
  if (column.type === 'time' || column.type === 'date') return 'temporal';
  return column.type === 'number' ? 'quantitative' : 'nominal';
}

function seriesTitle(plan: ChartPlan, columns: ResultColumn[]): string {
  return plan.color !== undefined ? columns[plan.color]!.name : 'Series';
}

function valueTitle(plan: ChartPlan, columns: ResultColumn[]): string {
  const names = plan.y.map((index) => columns[index]!.name);
  const name = names.length === 1 ? names[0]! : 'Value';
  return plan.aggregate === 'none' ? name : plan.aggregate === 'count' ? 'Count' : `${plan.aggregate} of ${name}`;
}

/** Level labels when each category has room for one, slanted otherwise. */
function categoryAxis(options: SpecOptions): Record<string, unknown> {
  const room = options.width / Math.max(1, options.categories ?? 1);
  return room >= 80 ? { labelAngle: 0, labelLimit: Math.floor(room - 8) } : { labelAngle: -40, labelLimit: 140 };
}

const DAY = 1;
const TICK_STEPS: Record<TimeGrain['grain'], Array<{ interval: string; step: number; days: number }>> = {
  day: [
    { interval: 'day', step: 1, days: DAY },
    { interval: 'day', step: 2, days: 2 },
    { interval: 'week', step: 1, days: 7 },
    { interval: 'week', step: 2, days: 14 },
    { interval: 'month', step: 1, days: 30.44 },
    { interval: 'month', step: 3, days: 91.3 },
    { interval: 'year', step: 1, days: 365.25 },
  ],
  month: [
    { interval: 'month', step: 1, days: 30.44 },
    { interval: 'month', step: 3, days: 91.3 },
    { interval: 'month', step: 6, days: 182.6 },
    { interval: 'year', step: 1, days: 365.25 },
  ],
  year: [
    { interval: 'year', step: 1, days: 365.25 },
    { interval: 'year', step: 5, days: 1826 },
    { interval: 'year', step: 10, days: 3652 },
  ],
};
/** Room one time label needs ("Nov 30", "Sep 2026"). */
const TIME_LABEL_PX = 72;

/**
 * A time axis that steps as the data does: whole days (weeks, months when they would crowd) for daily data,
 * labelled as dates; bars get one band per day (month, year) with its label under it. Vega's own ticks
 * would put "12 PM" between days. The points are local calendar days by now (chart-data.ts localCalendar).
 */
interface TimeAxis {
  axis: Record<string, unknown>;
  tooltip: { format: string };
  /** Bars: an ordinal axis with one band per unit. */
  type?: 'ordinal';
  timeUnit?: string;
}

function timeAxis(time: TimeGrain, width: number, banded: boolean): TimeAxis {
  const room = Math.max(2, Math.floor(width / TIME_LABEL_PX));
  const steps = TICK_STEPS[time.grain];
  const { interval, step } = steps.find((candidate) => time.spanDays / candidate.days <= room) ?? steps.at(-1)!;
  const format =
    time.grain === 'year' || interval === 'year'
      ? '%Y'
      : time.grain === 'month' || interval === 'month'
        ? '%b %Y'
        : time.spanDays > 300
          ? '%b %-d, %Y'
          : '%b %-d';
  const timeUnit = time.grain === 'year' ? 'year' : time.grain === 'month' ? 'yearmonth' : 'yearmonthdate';
  const tooltip = { format: time.grain === 'year' ? '%Y' : time.grain === 'month' ? '%Y-%m' : '%Y-%m-%d' };
  return banded
    ? { type: 'ordinal', timeUnit, axis: { format, labelOverlap: true, labelAngle: 0 }, tooltip }
    : { axis: { tickCount: { interval, step }, format, labelOverlap: true }, tooltip };
}

function encodingFor(plan: ChartPlan, columns: ResultColumn[], options: SpecOptions): Encoding {
  const x = columns[plan.x]!;
  const split = plan.color !== undefined || plan.y.length > 1;
  const xEncoding: Record<string, unknown> = { field: 'x', type: xType(x), title: x.name };
  if (xEncoding.type === 'nominal') {
    xEncoding.sort = null;
    xEncoding.axis = categoryAxis(options);
  }
  // Bars on a time axis get a band per day (month, year); lines and points stay at their instant.
  const banded = plan.type === 'bar' || plan.type === 'stacked-bar';
  const time =
    xEncoding.type === 'temporal' && options.timeGrain ? timeAxis(options.timeGrain, options.width, banded) : undefined;
  if (time) {
    xEncoding.axis = time.axis;
    if (time.type) xEncoding.type = time.type;
    if (time.timeUnit) xEncoding.timeUnit = time.timeUnit;
  }
  const y: Record<string, unknown> = { field: 'y', type: 'quantitative', title: valueTitle(plan, columns) };
  if (options.wholeNumbers) y.axis = { tickMinStep: 1, format: ',d' };
  const tooltip: Array<Record<string, unknown>> = [
    {
      field: 'x',
      type: xEncoding.type,
      title: x.name,
      ...(xEncoding.timeUnit ? { timeUnit: xEncoding.timeUnit } : {}),
      ...(time ? time.tooltip : xEncoding.type === 'temporal' ? { format: '%Y-%m-%d %H:%M:%S' } : {}),
    },
    { field: 'y', type: 'quantitative', title: y.title, format: ',' },
  ];
  const encoding: Encoding = { x: xEncoding, y, tooltip: tooltip as unknown as Record<string, unknown> };
  if (split) {
    encoding.color = { field: 's', type: 'nominal', title: seriesTitle(plan, columns), sort: null };
    tooltip.push({ field: 's', type: 'nominal', title: seriesTitle(plan, columns) });
  }
  if (plan.type === 'bar' && split && plan.color === undefined) encoding.xOffset = { field: 's', type: 'nominal', sort: null };
  return encoding;
}

/** Widest bar: one day of runs, or two categories, should not fill the whole chart. */
const MAX_BAR_PX = 64;

function markFor(plan: ChartPlan, pointCount: number, options: SpecOptions): Record<string, unknown> {
  switch (plan.type) {
    case 'line':
      return { type: 'line', point: pointCount <= 60, interpolate: 'linear' };
    case 'area':
      return { type: 'area', line: true, opacity: 0.7 };
    case 'scatter':
      return { type: 'point', filled: true, opacity: 0.7 };
    default: {
      // Grouped bars (several y columns side by side) share their band: only whole bars are capped.
      const grouped = plan.type === 'bar' && plan.y.length > 1 && plan.color === undefined;
      const band = options.categories ? options.width / options.categories : Infinity;
      if (!grouped && band * 0.8 > MAX_BAR_PX) return { type: 'bar', width: MAX_BAR_PX };
      return { type: 'bar', width: { band: 0.8 } };
    }
  }
}

export function buildSpec(plan: ChartPlan, columns: ResultColumn[], options: SpecOptions): VegaLiteSpec {
  const { colors } = options;
  const spec: VegaLiteSpec = {
    width: options.width,
    height: options.height,
    autosize: { type: 'fit', contains: 'padding' },
    background: 'transparent',
    padding: 8,
    data: { name: POINTS_DATA },
    config: {
      font: 'system-ui, sans-serif',
      view: { stroke: null },
      axis: {
        labelColor: colors.muted,
        titleColor: colors.text,
        gridColor: colors.grid,
        domainColor: colors.grid,
        tickColor: colors.grid,
      },
      legend: { labelColor: colors.muted, titleColor: colors.text, labelLimit: 240 },
      title: { color: colors.text, anchor: 'start', fontSize: 14 },
      mark: { color: colors.accent },
      arc: { stroke: 'transparent' },
    },
  };
  if (options.title) spec.title = { text: options.title };

  if (plan.type === 'pie') {
    const x = columns[plan.x]!;
    spec.mark = { type: 'arc', innerRadius: 0 };
    spec.encoding = {
      theta: { field: 'y', type: 'quantitative', stack: true, title: valueTitle(plan, columns) },
      color: { field: 'x', type: 'nominal', title: x.name, sort: null },
      tooltip: [
        { field: 'x', type: 'nominal', title: x.name },
        { field: 'y', type: 'quantitative', title: valueTitle(plan, columns), format: ',' },
      ],
    };
    return spec;
  }

  const encoding = encodingFor(plan, columns, options);
  const main = { mark: markFor(plan, options.pointCount ?? Infinity, options), encoding };
  if (plan.target === undefined) return { ...spec, ...main };
  const goal = {
    data: { name: TARGET_DATA },
    mark: { type: 'line', strokeDash: [6, 4], color: colors.goal, strokeWidth: 2 },
    encoding: { x: encoding.x, y: { ...encoding.y } },
  };
  return { ...spec, layer: [main, goal] };
}
