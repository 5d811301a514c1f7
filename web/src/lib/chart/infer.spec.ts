import { describe, expect, it } from 'vitest';
import type { ColumnKind, ResultColumn } from '../grid/result';
import { parseChartConfig } from './chart-config';
import { chartData, downsampleLine, MAX_LINE_POINTS, type ChartPoint } from './chart-data';
import { inferChart, resolveChart } from './infer';
import { buildSpec, type VegaLiteSpec } from './spec';

const colors = { text: '#000', muted: '#666', grid: '#ddd', accent: '#00f', goal: '#f00' };
const cols = (...spec: Array<[string, ColumnKind]>): ResultColumn[] => spec.map(([name, type]) => ({ name, type }));

/** What a test reads off a spec: the mark and, per channel, field/type. */
function summary(spec: VegaLiteSpec | undefined) {
  if (!spec) return undefined;
  const layer = (spec.layer as VegaLiteSpec[] | undefined)?.[0] ?? spec;
  const mark = (layer.mark as { type: string }).type;
  const encoding = Object.fromEntries(
    Object.entries(layer.encoding as Record<string, { field?: string; type?: string }>)
      .filter(([channel]) => channel !== 'tooltip')
      .map(([channel, value]) => [channel, `${value.field}:${value.type}`]),
  );
  return { mark, encoding, goal: Array.isArray(spec.layer) };
}

function specFor(columns: ResultColumn[], rows = 10) {
  const plan = inferChart(columns, rows);
  return {
    plan,
    spec: plan && plan.type !== 'number' ? buildSpec(plan, columns, { width: 600, height: 300, colors }) : undefined,
  };
}

describe("chart inference (Blazer's rules)", () => {
  const table: Array<{
    rule: string;
    columns: ResultColumn[];
    rows?: number;
    type?: string;
    mark?: string;
    encoding?: Record<string, string>;
    goal?: boolean;
  }> = [
    {
      rule: 'time + number -> line',
      columns: cols(['day', 'time'], ['n', 'number']),
      type: 'line',
      mark: 'line',
      encoding: { x: 'x:temporal', y: 'y:quantitative' },
    },
    {
      rule: 'date + numbers -> one line per number column',
      columns: cols(['day', 'date'], ['a', 'number'], ['b', 'number']),
      type: 'line',
      mark: 'line',
      encoding: { x: 'x:temporal', y: 'y:quantitative', color: 's:nominal' },
    },
    {
      rule: 'time + string + number -> one line per string',
      columns: cols(['at', 'time'], ['plan', 'string'], ['n', 'number']),
      type: 'line',
      mark: 'line',
      encoding: { x: 'x:temporal', y: 'y:quantitative', color: 's:nominal' },
    },
    {
      rule: 'string + number -> bar',
      columns: cols(['name', 'string'], ['n', 'number']),
      type: 'bar',
      mark: 'bar',
      encoding: { x: 'x:nominal', y: 'y:quantitative' },
    },
    {
      rule: 'string + numbers -> grouped bars',
      columns: cols(['name', 'string'], ['a', 'number'], ['b', 'number']),
      type: 'bar',
      mark: 'bar',
      encoding: { x: 'x:nominal', y: 'y:quantitative', color: 's:nominal', xOffset: 's:nominal' },
    },
    {
      rule: 'boolean + number -> bar (booleans are strings to Blazer)',
      columns: cols(['active', 'boolean'], ['n', 'number']),
      type: 'bar',
      mark: 'bar',
      encoding: { x: 'x:nominal', y: 'y:quantitative' },
    },
    {
      rule: 'string + string + number -> stacked bar',
      columns: cols(['team', 'string'], ['status', 'string'], ['n', 'number']),
      type: 'stacked-bar',
      mark: 'bar',
      encoding: { x: 'x:nominal', y: 'y:quantitative', color: 's:nominal' },
    },
    {
      rule: 'number + number -> scatter',
      columns: cols(['a', 'number'], ['b', 'number']),
      type: 'scatter',
      mark: 'point',
      encoding: { x: 'x:quantitative', y: 'y:quantitative' },
    },
    {
      rule: 'last column named pie -> pie',
      columns: cols(['kind', 'string'], ['pie', 'number']),
      type: 'pie',
      mark: 'arc',
      encoding: { theta: 'y:quantitative', color: 'x:nominal' },
    },
    {
      rule: 'a target column -> goal line (line)',
      columns: cols(['day', 'date'], ['signups', 'number'], ['target', 'number']),
      type: 'line',
      mark: 'line',
      encoding: { x: 'x:temporal', y: 'y:quantitative' },
      goal: true,
    },
    {
      rule: 'a target column -> goal line (bar)',
      columns: cols(['team', 'string'], ['sales', 'number'], ['Target', 'number']),
      type: 'bar',
      mark: 'bar',
      encoding: { x: 'x:nominal', y: 'y:quantitative' },
      goal: true,
    },
    { rule: 'one value -> big number', columns: cols(['count', 'number']), rows: 1, type: 'number' },
    { rule: 'one column, many rows -> nothing', columns: cols(['count', 'number']), rows: 5 },
    { rule: 'string + string -> nothing', columns: cols(['a', 'string'], ['b', 'string']) },
    { rule: 'time + string -> nothing', columns: cols(['a', 'time'], ['b', 'string']) },
    { rule: 'number + number + number -> nothing', columns: cols(['a', 'number'], ['b', 'number'], ['c', 'number']) },
    {
      rule: 'json + number -> bar',
      columns: cols(['doc', 'json'], ['n', 'number']),
      type: 'bar',
      mark: 'bar',
      encoding: { x: 'x:nominal', y: 'y:quantitative' },
    },
    { rule: 'no rows -> nothing', columns: cols(['day', 'time'], ['n', 'number']), rows: 0 },
  ];

  it.each(table)('$rule', ({ columns, rows, type, mark, encoding, goal }) => {
    const { plan, spec } = specFor(columns, rows);
    expect(plan?.type).toBe(type);
    if (mark) expect(summary(spec)).toEqual({ mark, encoding, goal: goal ?? false });
  });

  it('uses column names only as titles, never as field names', () => {
    const columns = cols(['a.b[0]', 'string'], ['<img src=x onerror=alert(1)>', 'number']);
    const { spec } = specFor(columns);
    const encoding = spec!.encoding as Record<string, { field: string; title: string }>;
    expect(encoding.x).toMatchObject({ field: 'x', title: 'a.b[0]' });
    expect(encoding.y).toMatchObject({ field: 'y', title: '<img src=x onerror=alert(1)>' });
  });
});

describe('saved chart settings', () => {
  const columns = cols(['day', 'date'], ['team', 'string'], ['a', 'number'], ['b', 'number']);

  it('keeps only known fields: a smuggled Vega spec is dropped', () => {
    const stored = {
      type: 'line',
      x: 'day',
      usermeta: { embedOptions: { actions: true } },
      data: { url: 'https://evil.example/x.json' },
      signals: [{ name: 's', update: "window.alert('x')" }],
      $schema: 'https://evil.example/schema.json',
      aggregate: 'sum',
      y: ['a', 42, { expr: 'alert(1)' }],
    };
    expect(parseChartConfig(stored)).toEqual({ version: 1, type: 'line', x: 'day', y: ['a'], aggregate: 'sum' });
    expect(parseChartConfig('garbage')).toEqual({ version: 1, type: 'auto' });
    expect(parseChartConfig({ type: 'sankey' })).toEqual({ version: 1, type: 'auto' });
  });

  it('applies the chosen type, columns, colour and aggregate', () => {
    expect(resolveChart(parseChartConfig({ type: 'bar', x: 'team', y: ['b'], aggregate: 'sum' }), columns, 10)).toEqual({
      type: 'bar',
      x: 1,
      y: [3],
      aggregate: 'sum',
    });
    expect(resolveChart(parseChartConfig({ type: 'line', x: 'day', y: ['a'], color: 'team' }), columns, 10)).toEqual({
      type: 'line',
      x: 0,
      y: [2],
      color: 1,
      aggregate: 'none',
    });
    expect(resolveChart(parseChartConfig({ type: 'none' }), columns, 10)).toBeUndefined();
    // Columns that no longer exist fall back to the inferred choice.
    expect(
      resolveChart(parseChartConfig({ type: 'scatter', x: 'gone', y: ['gone'] }), cols(['a', 'number'], ['b', 'number']), 3),
    ).toEqual({
      type: 'scatter',
      x: 0,
      y: [1],
      aggregate: 'none',
    });
  });
});

describe('chart data', () => {
  it('aggregates by x and series', () => {
    const columns = cols(['team', 'string'], ['n', 'number']);
    const rows = [
      ['a', 1],
      ['a', '2'],
      ['b', 5],
      [null, 7],
      ['b', null],
    ];
    const plan = resolveChart(parseChartConfig({ type: 'bar', aggregate: 'sum' }), columns, rows.length)!;
    expect(chartData(plan, columns, rows).points).toEqual([
      { x: 'a', y: 3 },
      { x: 'b', y: 5 },
      { x: '(null)', y: 7 },
    ]);
  });

  it('reads dates as local days and lossless number text as numbers', () => {
    const columns = cols(['day', 'date'], ['n', 'number']);
    const plan = inferChart(columns, 1)!;
    expect(chartData(plan, columns, [['2024-03-01', '12345678901234567890']]).points).toEqual([
      { x: new Date(2024, 2, 1).getTime(), y: Number('12345678901234567890') },
    ]);
  });

  it('downsamples a 100,000-point line and keeps its extremes', () => {
    const points: ChartPoint[] = Array.from({ length: 100_000 }, (_, i) => ({ x: i, y: Math.sin(i / 500) }));
    points[43_210] = { x: 43_210, y: 99 };
    points[77_777] = { x: 77_777, y: -99 };
    const kept = downsampleLine(points);
    expect(kept.length).toBeLessThanOrEqual(MAX_LINE_POINTS);
    expect(kept).toContainEqual({ x: 43_210, y: 99 });
    expect(kept).toContainEqual({ x: 77_777, y: -99 });
    expect(kept[0]).toEqual(points[0]);
    expect(kept.at(-1)).toEqual(points.at(-1));
  });
});
