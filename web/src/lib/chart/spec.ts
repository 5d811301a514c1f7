// The Vega-Lite spec for a ChartPlan. Data is always long-format points with the fixed fields x, y and
// s (see chart-data.ts), so column names never become field expressions: a name with dots, brackets or
// markup is only ever a title, which Vega draws as text.
import type { ResultColumn } from '../grid/result';
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

function encodingFor(plan: ChartPlan, columns: ResultColumn[], options: SpecOptions): Encoding {
  const x = columns[plan.x]!;
  const split = plan.color !== undefined || plan.y.length > 1;
  const xEncoding: Record<string, unknown> = { field: 'x', type: xType(x), title: x.name };
  if (xEncoding.type === 'nominal') {
    xEncoding.sort = null;
    xEncoding.axis = categoryAxis(options);
  }
  const y = { field: 'y', type: 'quantitative', title: valueTitle(plan, columns) };
  const tooltip: Array<Record<string, unknown>> = [
    {
      field: 'x',
      type: xEncoding.type,
      title: x.name,
      ...(xEncoding.type === 'temporal' ? { format: '%Y-%m-%d %H:%M:%S' } : {}),
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

function markFor(plan: ChartPlan, pointCount: number): Record<string, unknown> {
  switch (plan.type) {
    case 'line':
      return { type: 'line', point: pointCount <= 60, interpolate: 'linear' };
    case 'area':
      return { type: 'area', line: true, opacity: 0.7 };
    case 'scatter':
      return { type: 'point', filled: true, opacity: 0.7 };
    default:
      return { type: 'bar', width: { band: 0.8 } };
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
  const main = { mark: markFor(plan, options.pointCount ?? Infinity), encoding };
  if (plan.target === undefined) return { ...spec, ...main };
  const goal = {
    data: { name: TARGET_DATA },
    mark: { type: 'line', strokeDash: [6, 4], color: colors.goal, strokeWidth: 2 },
    encoding: { x: encoding.x, y: { ...encoding.y } },
  };
  return { ...spec, layer: [main, goal] };
}
