// What one version of a saved query holds, and the checks every save passes through: sizes, text that
// PostgreSQL can store (no NUL, no lone surrogate), tags normalised, variable declarations well formed.
import { MAX_SQL_LENGTH } from '../engine/input.js';
import { conventionalKind, valueProblem } from '../engine/variables.js';
import { AppError } from '../lib/errors.js';
import { isRelativeTime } from '../lib/relative-time.js';

export type VariableKind = 'text' | 'number' | 'timestamp' | 'date' | 'boolean';
export const VARIABLE_KINDS: readonly VariableKind[] = ['text', 'number', 'timestamp', 'date', 'boolean'];

/** Same shape as the engine's VariableDeclaration: a declared kind overrides Blazer's naming conventions. */
export interface VariableDeclaration {
  name: string;
  /** Absent ("auto"): Blazer's naming conventions and the value decide, as for an undeclared variable. */
  kind?: VariableKind;
  multiple?: boolean;
  /** A saved query whose rows (value, label) fill this variable's dropdown. */
  optionsQueryId?: string;
  /**
   * The value a run takes when it gives none, so a plain link runs at once. Dates and timestamps may be
   * relative (`today-29d`, `tomorrow`: server/lib/relative-time.ts), resolved when each run starts; a list
   * variable's default is comma-separated.
   */
  default?: string;
}

export interface QueryContent {
  name: string;
  description: string;
  tags: string[];
  dataSource: string;
  sql: string;
  variables: VariableDeclaration[];
  /** The chart settings (issue #6 defines them); stored and returned as given. */
  chart: unknown;
}

export const LIMITS = {
  name: 200,
  description: 10_000,
  tags: 20,
  tag: 40,
  sql: MAX_SQL_LENGTH, // the engine's own cap: what may be saved may be run
  variables: 100,
  variableDefault: 500,
  chartBytes: 256 * 1024,
} as const;

export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function invalid(field: string, message: string): AppError {
  return new AppError(400, 'invalid_request', message, { field });
}

/** PostgreSQL text cannot hold NUL, and UTF-8 cannot hold a lone surrogate: refuse rather than mangle. */
function checkText(field: string, value: string): void {
  if (value.includes('\0')) throw invalid(field, `The ${field} contains a NUL character (\\0); remove it.`);
  if (LONE_SURROGATE.test(value)) throw invalid(field, `The ${field} is not valid Unicode text.`);
}

export function normaliseTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const raw of tags) {
    const tag = raw.trim().replace(/\s+/g, ' ').toLowerCase();
    if (!tag) continue;
    checkText('tags', tag);
    if (tag.length > LIMITS.tag) throw invalid('tags', `A tag can be at most ${LIMITS.tag} characters long.`);
    seen.add(tag);
  }
  if (seen.size > LIMITS.tags) throw invalid('tags', `A query can have at most ${LIMITS.tags} tags.`);
  return [...seen];
}

/** A default is checked with the rules a run applies to a value of its kind (relative times for dates and timestamps). */
function checkDefault(variable: VariableDeclaration): void {
  const value = variable.default!;
  checkText('variables', value);
  if (value.length > LIMITS.variableDefault)
    throw invalid('variables', `The default of ${variable.name} can be at most ${LIMITS.variableDefault} characters long.`);
  const kind = variable.kind ?? conventionalKind(variable.name);
  if (!kind || ((kind === 'timestamp' || kind === 'date') && isRelativeTime(value))) return;
  const values = variable.multiple ? value.split(',').map((part) => part.trim()) : [value];
  for (const item of values) {
    const problem = valueProblem(kind, item);
    if (problem) throw invalid('variables', `The default of ${variable.name} must be ${problem} (got ${JSON.stringify(item)}).`);
  }
}

/** Checks and normalises content about to be stored. */
export function checkContent(content: QueryContent): QueryContent {
  const name = content.name.trim();
  if (!name) throw invalid('name', 'Give the query a name.');
  if (name.length > LIMITS.name) throw invalid('name', `The name can be at most ${LIMITS.name} characters long.`);
  checkText('name', name);
  if (content.description.length > LIMITS.description)
    throw invalid('description', `The description can be at most ${LIMITS.description.toLocaleString('en-US')} characters long.`);
  checkText('description', content.description);
  if (content.sql.length > LIMITS.sql)
    throw new AppError(413, 'sql_too_large', `The SQL can be at most ${LIMITS.sql.toLocaleString('en-US')} characters long.`);
  if (!content.sql.trim()) throw invalid('sql', 'There is no SQL to save.');
  checkText('sql', content.sql);

  const names = new Set<string>();
  for (const variable of content.variables) {
    if (!VARIABLE_NAME.test(variable.name)) throw invalid('variables', `"${variable.name}" is not a variable name.`);
    if (variable.kind !== undefined && !VARIABLE_KINDS.includes(variable.kind))
      throw invalid('variables', `"${variable.kind}" is not a variable type.`);
    if (names.has(variable.name)) throw invalid('variables', `The variable ${variable.name} is declared twice.`);
    if (variable.optionsQueryId !== undefined && !/^[0-9]{1,19}$/.test(variable.optionsQueryId)) {
      throw invalid('variables', `The options query of ${variable.name} must be a saved query's number.`);
    }
    if (variable.default !== undefined) checkDefault(variable);
    names.add(variable.name);
  }
  if (names.size > LIMITS.variables) throw invalid('variables', `A query can declare at most ${LIMITS.variables} variables.`);
  const variables = content.variables.map((v) => ({
    name: v.name,
    ...(v.kind !== undefined ? { kind: v.kind } : {}),
    ...(v.multiple ? { multiple: true } : {}),
    ...(v.optionsQueryId ? { optionsQueryId: v.optionsQueryId } : {}),
    ...(v.default !== undefined ? { default: v.default } : {}),
  }));

  const chart = content.chart ?? null;
  if (chart !== null) {
    if (typeof chart !== 'object' || Array.isArray(chart)) throw invalid('chart', 'The chart settings must be an object.');
    const json = JSON.stringify(chart);
    if (json.length > LIMITS.chartBytes) throw invalid('chart', 'The chart settings are too large.');
    if (json.includes('\\u0000') || LONE_SURROGATE.test(json))
      throw invalid('chart', 'The chart settings hold text PostgreSQL cannot store.');
  }
  return {
    name,
    description: content.description,
    tags: normaliseTags(content.tags),
    dataSource: content.dataSource,
    sql: content.sql,
    variables,
    chart,
  };
}

/** JSON with object keys sorted, so content read back from jsonb compares equal to what was sent. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function sameContent(a: QueryContent, b: QueryContent): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
