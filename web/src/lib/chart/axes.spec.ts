// The axes Vega draws for our specs, rendered to SVG in Node (vega's string renderer, no browser): daily
// data gets day labels (never "12 PM" between days), in UTC when the values are UTC midnights, and counts
// get whole-number ticks. The process runs in Paris so that UTC and local midnights differ.
(globalThis as unknown as { process: { env: Record<string, string> } }).process.env.TZ = 'Europe/Paris';

import { parse, View, type Spec } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { describe, expect, it } from 'vitest';
import type { ColumnKind, ResultColumn, ResultRow } from '../grid/result';
import { DEFAULT_CHART_CONFIG, parseChartConfig } from './chart-config';
import { chartData, timeGrain, wholeNumbers } from './chart-data';
import { chartProblem, resolveChart } from './infer';
import { buildSpec, POINTS_DATA } from './spec';

const colors = { text: '#000', muted: '#666', grid: '#ddd', accent: '#00f', goal: '#f00' };
const cols = (...spec: Array<[string, ColumnKind]>): ResultColumn[] => spec.map(([name, type]) => ({ name, type }));

/** The labels of each axis, as drawn: { x: [...], y: [...] }. */
async function axisLabels(columns: ResultColumn[], rows: ResultRow[], type = 'auto', width = 600) {
  const plan = resolveChart(parseChartConfig({ type }), columns, rows.length)!;
  const data = chartData(plan, columns, rows);
  const spec = buildSpec(plan, columns, {
    width,
    height: 300,
    colors,
    timeGrain: data.timeGrain,
    wholeNumbers: wholeNumbers(data.points),
  });
  const view = new View(parse(compile(spec as unknown as TopLevelSpec).spec as Spec), { renderer: 'none' });
  view.data(POINTS_DATA, data.points);
  await view.runAsync();
  const svg = await view.toSVG();
  view.finalize();
  const labels: Record<string, string[]> = {};
  // Each axis is a group with aria-label "X-axis titled ..." / "Y-axis titled ..."; its labels are text marks.
  for (const match of svg.matchAll(/aria-label="([XY])-axis[^"]*"[\s\S]*?role-axis-label[^>]*>([\s\S]*?)<\/g>/g)) {
    labels[match[1]!.toLowerCase()] = [...match[2]!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((text) => text[1]!);
  }
  return labels;
}

const days = (from: string, count: number, local: boolean) =>
  Array.from({ length: count }, (_, i) => {
    const date = new Date(`${from}T00:00:00Z`);
    date.setUTCDate(date.getUTCDate() + i);
    const iso = date.toISOString().slice(0, 10);
    return local ? iso : `${iso}T00:00:00Z`;
  });

describe('time axes follow the data', () => {
  it('reads the step of a series: days, months, years; local midnights first, then UTC ones', () => {
    const ms = (values: string[]) => values.map((value) => Date.parse(value));
    expect(timeGrain(ms(['2026-11-01T00:00:00+01:00', '2026-11-02T00:00:00+01:00']))).toEqual({
      grain: 'day',
      utc: false,
      spanDays: 2,
    });
    expect(timeGrain(ms(['2026-11-01T00:00:00Z', '2026-11-08T00:00:00Z']))).toEqual({ grain: 'day', utc: true, spanDays: 8 });
    expect(timeGrain(ms(['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z']))?.grain).toBe('month');
    expect(timeGrain(ms(['2025-01-01T00:00:00Z', '2026-01-01T00:00:00Z']))?.grain).toBe('year');
    expect(timeGrain(ms(['2026-01-01T00:00:00Z']))?.grain).toBe('day');
    expect(timeGrain(ms(['2026-11-01T00:00:00Z', '2026-11-01T12:00:00Z']))).toBeUndefined();
  });

  it('labels a daily series of timestamptz values (UTC midnights) by day, never "12 PM"', async () => {
    const rows = days('2026-11-23', 8, false).map((day, i) => [day, 10 + i]);
    const { x } = await axisLabels(cols(['day', 'time'], ['n', 'number']), rows);
    expect(x).toEqual(['Nov 23', 'Nov 24', 'Nov 25', 'Nov 26', 'Nov 27', 'Nov 28', 'Nov 29', 'Nov 30']);
  });

  it('labels dates by day in a narrow chart too, stepping over days rather than between them', async () => {
    const rows = days('2026-11-01', 30, true).map((day, i) => [day, i]);
    const { x } = await axisLabels(cols(['day', 'date'], ['n', 'number']), rows, 'auto', 400);
    expect(x!.length).toBeGreaterThan(2);
    for (const label of x!) expect(label).toMatch(/^(Oct|Nov|Dec) \d{1,2}$/);
  });

  it('labels monthly data by month, and draws bars a day wide on a daily axis', async () => {
    const months = ['2026-01-01', '2026-02-01', '2026-03-01', '2026-04-01'].map((month, i) => [month, i + 1]);
    expect((await axisLabels(cols(['month', 'date'], ['n', 'number']), months)).x).toEqual([
      'Jan 2026',
      'Feb 2026',
      'Mar 2026',
      'Apr 2026',
    ]);
    const bars = days('2026-11-27', 4, true).flatMap((day) => [
      [day, 'ada@example.com', 1],
      [day, 'eddie@example.com', 2],
    ]);
    const { x } = await axisLabels(cols(['day', 'date'], ['user', 'string'], ['runs', 'number']), bars, 'stacked-bar');
    expect(x).toEqual(['Nov 27', 'Nov 28', 'Nov 29', 'Nov 30']);
  });

  it('gives counts whole-number ticks: 0 and 1, not 0.0 to 1.0', async () => {
    const rows = days('2026-11-27', 4, true).map((day) => [day, 1]);
    expect((await axisLabels(cols(['day', 'date'], ['runs', 'number']), rows)).y).toEqual(['0', '1']);
    const fractions = days('2026-11-27', 4, true).map((day, i) => [day, i / 4]);
    expect((await axisLabels(cols(['day', 'date'], ['ratio', 'number']), fractions)).y).toContain('0.2');
  });
});

describe('when Automatic draws no chart, one line says why', () => {
  const auto = DEFAULT_CHART_CONFIG;
  it.each([
    [cols(['a', 'string'], ['b', 'string'], ['c', 'string']), 'No chart: c is text; Automatic draws a against number columns.'],
    [cols(['a', 'string'], ['b', 'json']), 'No chart: b is JSON; Automatic draws a against number columns.'],
    [
      cols(['day', 'time'], ['status', 'string'], ['note', 'string']),
      'No chart: note is text; Automatic draws day against number columns.',
    ],
    [
      cols(['day', 'date'], ['label', 'string'], ['n', 'number'], ['m', 'number']),
      'No chart: label is text; Automatic draws day against number columns. Pick a chart type to choose the columns yourself.',
    ],
    [
      cols(['n', 'number'], ['b', 'boolean']),
      'No chart: b is true/false; after a number column Automatic draws a scatter of two numbers.',
    ],
    [
      cols(['a', 'number'], ['b', 'number'], ['c', 'number']),
      'No chart: a is a number, so Automatic draws a scatter, which takes exactly two number columns (here 3).',
    ],
    [
      cols(['n', 'number']),
      'No chart: one column (n) has nothing to be plotted against; a single row would show as a big number.',
    ],
  ])('%#', (columns, message) => {
    expect(chartProblem(auto, columns, 5)).toBe(message);
  });

  it('says nothing when a chart is drawn or none was asked for', () => {
    expect(chartProblem(auto, cols(['day', 'date'], ['n', 'number']), 5)).toBeUndefined();
    expect(chartProblem({ version: 1, type: 'none' }, cols(['a', 'string']), 5)).toBeUndefined();
    expect(chartProblem(auto, cols(['day', 'date'], ['n', 'number']), 0)).toBe('No chart: the query returned no rows.');
    expect(chartProblem({ version: 1, type: 'bar' }, cols(['a', 'string'], ['b', 'string']), 3)).toBe(
      'No chart: a bar chart needs a number column to draw, and none is left.',
    );
  });
});
