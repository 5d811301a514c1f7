// Variables: `{name}` in SQL becomes a bind parameter ($n), never text (Blazer CVE-2022-29498 escaped
// values into the SQL). A variable is found only in SQL code, not inside comments, string literals,
// quoted identifiers or dollar-quoted bodies; `{1,2}` (a regex quantifier) is not a variable. Types follow
// Blazer's conventions: names ending in `_at` and `start_time` / `end_time` are timestamps, digits are
// numbers; a saved query's declarations override them. A list value fills an IN list: `in ({ids})`.
import { AppError } from '../lib/errors.js';
import { isWellFormedText } from './input.js';
import { OffsetMap, positionAt } from './sql-position.js';

export type VariableKind = 'text' | 'number' | 'timestamp' | 'date' | 'boolean';

/** How a saved query declares a variable (issue #5 stores these with each version). */
export interface VariableDeclaration {
  name: string;
  /** Absent: Blazer's conventions and the value decide, as for an undeclared variable. */
  kind?: VariableKind;
  /** Accepts a list, for IN (...). */
  multiple?: boolean;
  /** The value a run takes when none is given; dates and timestamps may be relative (server/lib/relative-time.ts). */
  default?: string;
}

export interface VariableUse {
  name: string;
  /** UTF-16 offsets of `{name}` in the SQL as written. */
  start: number;
  end: number;
}

export interface BoundSql {
  /** The SQL with every `{name}` replaced by $n placeholders. */
  text: string;
  /** Bind values in text form (PostgreSQL parses them with the types below), in $n order. */
  values: string[];
  /** Parameter type OIDs for the Parse message; 0 lets PostgreSQL infer the type from the context. */
  types: number[];
  /** Maps offsets in `text` back to the SQL as written, for error positions. */
  offsets: OffsetMap;
  /** The variables used, in order of first appearance. */
  names: string[];
}

export const MAX_LIST_VALUES = 1000;
export const MAX_VALUE_LENGTH = 10_000;
const MAX_BIND_PARAMETERS = 65_535;

const OID = { unknown: 0, bool: 16, int8: 20, int4: 23, date: 1082, timestamptz: 1184, numeric: 1700 } as const;

const VARIABLE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/y;
const VARIABLE_ANYWHERE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const DOLLAR_TAG = /\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?\d+\.\d+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;

const isIdentifierChar = (ch: string | undefined) => ch !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(ch);

interface QuotedVariable {
  name: string;
  start: number;
  /** The whole literal is `'{name}'` and no cast follows (so it is not an array literal like '{a}'::text[]). */
  alone: boolean;
}

interface ScanResult {
  uses: VariableUse[];
  quoted: QuotedVariable[];
}

/** One pass over the SQL that skips comments, literals and quoted identifiers, as PostgreSQL's lexer does. */
/** Where each `{name}` appears in the SQL (outside strings and comments). */
export function variableUses(sql: string): VariableUse[] {
  return scan(sql).uses;
}

function scan(sql: string): ScanResult {
  const uses: VariableUse[] = [];
  const quoted: QuotedVariable[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? n : end + 1;
    } else if (ch === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (ch === "'") {
      const backslashes = (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !isIdentifierChar(sql[i - 2]);
      let j = i + 1;
      while (j < n) {
        if (sql[j] === "'") {
          if (sql[j + 1] === "'") j += 2;
          else break;
        } else if (backslashes && sql[j] === '\\') j += 2;
        else j++;
      }
      const content = sql.slice(i + 1, j);
      const after = sql.slice(j + 1).trimStart();
      for (const match of content.matchAll(VARIABLE_ANYWHERE)) {
        quoted.push({ name: match[1]!, start: i + 1 + match.index, alone: match[0] === content && !after.startsWith('::') });
      }
      i = j + 1;
    } else if (ch === '"') {
      let j = i + 1;
      while (j < n && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
      i = j + 1;
    } else if (ch === '$' && !isIdentifierChar(sql[i - 1])) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql);
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close === -1 ? n : close + tag[0].length;
      } else i++;
    } else if (ch === '{') {
      VARIABLE.lastIndex = i;
      const match = VARIABLE.exec(sql);
      if (match) {
        uses.push({ name: match[1]!, start: i, end: i + match[0].length });
        i += match[0].length;
      } else i++;
    } else i++;
  }
  return { uses, quoted };
}

/** The `{name}` variables of a query, in order of first appearance (for forms that ask for values). */
export function variableNames(sql: string): string[] {
  return [...new Set(scan(sql).uses.map((use) => use.name))];
}

/** Blazer's convention: `*_at`, `start_time` and `end_time` hold timestamps. */
export function conventionalKind(name: string): VariableKind | undefined {
  return /_at$/.test(name) || name === 'start_time' || name === 'end_time' ? 'timestamp' : undefined;
}

function variableError(code: string, name: string, message: string, sql: string, offset?: number): AppError {
  return new AppError(400, code, message, {
    variable: name,
    ...(offset === undefined ? {} : { position: positionAt(sql, offset) }),
  });
}

type Scalar = string | number | boolean;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function numberOid(text: string): number {
  if (!INTEGER.test(text)) return OID.numeric;
  const value = BigInt(text);
  if (value >= -(2n ** 31n) && value < 2n ** 31n) return OID.int4;
  if (value >= -(2n ** 63n) && value < 2n ** 63n) return OID.int8;
  return OID.numeric;
}

/** Text form and type OID of one value of a known kind, or a reason it does not fit. */
function encodeScalar(value: Scalar, kind: VariableKind): { text: string; oid: number } | string {
  const text = typeof value === 'string' ? value.trim() : String(value);
  switch (kind) {
    case 'number':
      if (typeof value === 'number' ? Number.isFinite(value) : INTEGER.test(text) || DECIMAL.test(text))
        return { text, oid: typeof value === 'number' && !Number.isInteger(value) ? OID.numeric : numberOid(text) };
      return 'a number';
    case 'boolean':
      if (value === true || value === false || text === 'true' || text === 'false') return { text, oid: OID.bool };
      return 'true or false';
    case 'date':
      return typeof value === 'string' && DATE.test(text) && !Number.isNaN(Date.parse(text))
        ? { text, oid: OID.date }
        : 'a date like 2024-01-31 (or a relative one like today-7d)';
    case 'timestamp':
      return typeof value === 'string' && TIMESTAMP.test(text) && !Number.isNaN(Date.parse(text.replace(' ', 'T')))
        ? { text, oid: OID.timestamptz }
        : 'a time like 2024-01-31T09:30:00Z (or a relative one like today-7d)';
    case 'text':
      // Unknown type: PostgreSQL infers it from the context exactly as for a quoted literal, so a value
      // compared with an enum, uuid or date column works as it did in Blazer.
      return { text: typeof value === 'string' ? value : String(value), oid: OID.unknown };
  }
}

/**
 * Why a value does not fit a kind ("a number", ...), or undefined when it does: for checking a saved
 * default before it is stored, with the same rules a run applies.
 */
export function valueProblem(kind: VariableKind, value: string): string | undefined {
  const encoded = encodeScalar(value, kind);
  return typeof encoded === 'string' ? encoded : undefined;
}

/** Blazer's typing by value for a variable with no declared or conventional kind. */
function inferredKind(values: Scalar[]): VariableKind {
  if (values.every((v) => typeof v === 'boolean')) return 'boolean';
  if (
    values.every(
      (v) => (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && (INTEGER.test(v) || DECIMAL.test(v))),
    )
  )
    return 'number';
  return 'text';
}

function isScalar(value: unknown): value is Scalar {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/**
 * Replaces each `{name}` with bind parameters and types the values. Throws a 400 naming the variable when
 * one is missing, unknown, of the wrong shape, or written inside quotes.
 */
export function bindVariables(
  sql: string,
  params: Record<string, unknown>,
  declarations: readonly VariableDeclaration[] = [],
): BoundSql {
  const { uses, quoted } = scan(sql);
  const declared = new Map(declarations.map((d) => [d.name, d]));
  const used = new Set(uses.map((use) => use.name));

  for (const q of quoted) {
    if (used.has(q.name) || declared.has(q.name) || Object.hasOwn(params, q.name) || q.alone) {
      throw variableError(
        'variable_in_string',
        q.name,
        `The variable {${q.name}} is inside a quoted string, where it would be plain text. Remove the quotes around it ` +
          `(variables are passed as values, so '%' || {${q.name}} || '%' builds a LIKE pattern). ` +
          `For a literal array or text, add a cast such as '{${q.name}}'::text[].`,
        sql,
        q.start - 1,
      );
    }
  }
  for (const name of Object.keys(params)) {
    if (!used.has(name)) {
      throw variableError('variable_unknown', name, `The variable ${name} was given a value but the SQL has no {${name}}.`, sql);
    }
  }

  const placeholders = new Map<string, string>();
  const values: string[] = [];
  const types: number[] = [];
  for (const use of uses) {
    if (placeholders.has(use.name)) continue;
    const name = use.name;
    const raw = Object.hasOwn(params, name) ? params[name] : undefined;
    if (raw === undefined || raw === null) {
      throw variableError('variable_missing', name, `The variable {${name}} needs a value.`, sql, use.start);
    }
    const declaration = declared.get(name);
    const list = Array.isArray(raw);
    if (list && declaration && !declaration.multiple) {
      throw variableError('variable_invalid', name, `The variable ${name} takes one value, not a list.`, sql, use.start);
    }
    const scalars = list ? (raw as unknown[]) : [raw];
    if (!scalars.every(isScalar)) {
      throw variableError(
        'variable_invalid',
        name,
        `The variable ${name} must be text, a number, true/false or a list of those (got ${describe(list ? scalars.find((v) => !isScalar(v)) : raw)}).`,
        sql,
        use.start,
      );
    }
    if (list && (scalars.length === 0 || scalars.length > MAX_LIST_VALUES)) {
      throw variableError(
        'variable_invalid',
        name,
        `The list for ${name} must have from 1 to ${MAX_LIST_VALUES} values (got ${scalars.length}).`,
        sql,
        use.start,
      );
    }
    for (const value of scalars) {
      if (typeof value === 'string' && (value.length > MAX_VALUE_LENGTH || value.includes('\0') || !isWellFormedText(value))) {
        throw variableError(
          'variable_invalid',
          name,
          `The value of ${name} must be valid text without NUL characters, at most ${MAX_VALUE_LENGTH} characters long.`,
          sql,
          use.start,
        );
      }
    }
    const kind = declaration?.kind ?? conventionalKind(name) ?? inferredKind(scalars);
    const parts: string[] = [];
    for (const value of scalars) {
      const encoded = encodeScalar(value, kind);
      if (typeof encoded === 'string') {
        throw variableError(
          'variable_invalid',
          name,
          `The variable ${name} must be ${encoded} (got ${JSON.stringify(value)}).`,
          sql,
          use.start,
        );
      }
      values.push(encoded.text);
      types.push(encoded.oid);
      parts.push(`$${values.length}`);
    }
    if (values.length > MAX_BIND_PARAMETERS) {
      throw variableError('variable_invalid', name, `Too many variable values (at most ${MAX_BIND_PARAMETERS}).`, sql);
    }
    placeholders.set(name, parts.join(', '));
  }

  const offsets = new OffsetMap();
  let text = '';
  let copied = 0;
  for (const use of uses) {
    text += sql.slice(copied, use.start);
    const placeholder = placeholders.get(use.name)!;
    offsets.record(use.start, use.end, text.length, placeholder.length);
    text += placeholder;
    copied = use.end;
  }
  text += sql.slice(copied);
  return { text, values, types, offsets, names: [...placeholders.keys()] };
}
