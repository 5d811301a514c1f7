// The bounds on a run's `params` (THREATS.md 50) and on what the audit log stores of a refused run
// (THREATS.md 49). Variables take text, numbers, true/false or a list of those; the route schema admits a
// little more (one level of nesting) so that variables.ts can name a wrongly typed value, and nothing
// deeper: a value nested thousands of levels deep is a 400 before any code walks it. Storing is bounded
// again, in depth and size, because the audit log must never be the place where a request blows up.
import { Type } from 'typebox';
import type { AuditEvent } from '../audit/service.js';
import type { AppError } from '../lib/errors.js';
import { capText, MAX_ERROR_TEXT_BYTES, MAX_STORED_SQL_BYTES } from './error-text.js';
import { storable } from './live-run.js';

export const MAX_PARAMS = 200;
/** Generous beside variables.ts's own limits (1,000 list values, 10,000 characters), which explain themselves. */
const MAX_PARAM_ITEMS = 10_000;
const MAX_PARAM_STRING = 100_000;
/** Levels of nesting kept when params are stored: params -> value -> list item. */
export const MAX_STORED_PARAM_DEPTH = 3;
export const MAX_STORED_PARAMS_BYTES = 64 * 1024;

// Each level is one `type` list rather than anyOf: Fastify's validator coerces types (it would turn the
// number 1 into the text "1" on the first branch of an anyOf), but never when the value's own type is listed.
const SCALAR_TYPES = ['string', 'number', 'boolean', 'null'];
type ParamScalar = string | number | boolean | null;
const Scalar = Type.Unsafe<ParamScalar>({ type: SCALAR_TYPES, maxLength: MAX_PARAM_STRING });
const Nested = Type.Unsafe<ParamScalar | ParamScalar[] | Record<string, ParamScalar>>({
  type: [...SCALAR_TYPES, 'array', 'object'],
  maxLength: MAX_PARAM_STRING,
  items: Scalar,
  maxItems: MAX_PARAM_ITEMS,
  additionalProperties: Scalar,
  maxProperties: MAX_PARAMS,
});
const ParamValue = Type.Unsafe<unknown>({
  type: [...SCALAR_TYPES, 'array', 'object'],
  maxLength: MAX_PARAM_STRING,
  items: Nested,
  maxItems: MAX_PARAM_ITEMS,
  additionalProperties: Nested,
  maxProperties: MAX_PARAMS,
});

/** The `params` of POST /api/runs: values for {variables}, at most three levels deep. */
export const RunParams = Type.Record(Type.String({ maxLength: 128 }), ParamValue, {
  maxProperties: MAX_PARAMS,
  description: 'Values for {variables}: text, numbers, true/false, or lists of those',
});

/** Params as the audit log stores them: bounded in depth, entries and string length, then in total size. */
export function storableParams(params: unknown): unknown {
  const bounded = boundValue(params, 0);
  const bytes = Buffer.byteLength(JSON.stringify(bounded) ?? 'null', 'utf8');
  return bytes <= MAX_STORED_PARAMS_BYTES ? bounded : { '[cut]': `${bytes.toLocaleString('en-US')} bytes of parameters` };
}

function boundValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return storable(capText(value, MAX_ERROR_TEXT_BYTES));
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_STORED_PARAM_DEPTH) return '[cut: nested too deep]';
  if (Array.isArray(value)) {
    const kept = value.slice(0, MAX_PARAM_ITEMS).map((item) => boundValue(item, depth + 1));
    return value.length > MAX_PARAM_ITEMS ? [...kept, `[cut: ${value.length - MAX_PARAM_ITEMS} more]`] : kept;
  }
  const entries = Object.entries(value);
  const kept = entries
    .slice(0, MAX_PARAMS)
    .map(([key, item]) => [storable(capText(key, 256)), boundValue(item, depth + 1)] as const);
  if (entries.length > MAX_PARAMS) kept.push(['[cut]', `${entries.length - MAX_PARAMS} more`]);
  return Object.fromEntries(kept);
}

/** The audit event of a run refused before it started (access, statement checks, a malformed request). */
export function refusedRunEvent(
  base: Omit<AuditEvent, 'action'>,
  run: { id: string; format: 'json' | 'csv'; sql: unknown; params: unknown; details?: Record<string, unknown> },
  error: AppError,
): AuditEvent {
  const denied = error.statusCode === 403 || error.statusCode === 404 || error.code === 'statement_not_allowed';
  return {
    ...base,
    action: 'run.failed',
    outcome: denied ? 'denied' : 'error',
    errorCode: error.code,
    ...(typeof run.sql === 'string' ? { sql: storable(capText(run.sql, MAX_STORED_SQL_BYTES)) } : {}),
    params: storableParams(run.params ?? {}),
    details: { runId: run.id, format: run.format, message: storable(capText(error.message)), ...run.details },
  };
}
