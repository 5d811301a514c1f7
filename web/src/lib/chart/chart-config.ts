// The chart settings saved with each query version (issue #5 stores them as opaque JSON). Only these
// fields are kept: a stored value is read through parseChartConfig, so a spec smuggled into the saved
// JSON (usermeta, data.url, signals, expressions) is dropped and never reaches Vega (THREATS.md 40).

export const CHART_TYPES = ['auto', 'none', 'line', 'area', 'bar', 'stacked-bar', 'scatter', 'pie', 'number'] as const;
export type ChartType = (typeof CHART_TYPES)[number];

export const AGGREGATES = ['none', 'sum', 'mean', 'count', 'min', 'max'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

export interface ChartConfig {
  version: 1;
  type: ChartType;
  /** Column names; absent means "as inferred". */
  x?: string;
  y?: string[];
  color?: string;
  aggregate?: Aggregate;
}

export const DEFAULT_CHART_CONFIG: ChartConfig = { version: 1, type: 'auto' };

const MAX_NAME = 256;
const MAX_Y = 20;

const isName = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME;

function oneOf<T extends string>(allowed: readonly T[], value: unknown, fallback: T): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

/** Whatever was stored, a well-formed ChartConfig with nothing else in it. */
export function parseChartConfig(stored: unknown): ChartConfig {
  if (!stored || typeof stored !== 'object' || Array.isArray(stored)) return { ...DEFAULT_CHART_CONFIG };
  const raw = stored as Record<string, unknown>;
  const config: ChartConfig = { version: 1, type: oneOf(CHART_TYPES, raw.type, 'auto') };
  if (isName(raw.x)) config.x = raw.x;
  if (Array.isArray(raw.y)) {
    const y = raw.y.filter(isName).slice(0, MAX_Y);
    if (y.length) config.y = y;
  }
  if (isName(raw.color)) config.color = raw.color;
  const aggregate = oneOf(AGGREGATES, raw.aggregate, 'none');
  if (aggregate !== 'none') config.aggregate = aggregate;
  return config;
}
