// The values a run binds, decided when it starts: a saved query's defaults fill the variables a request
// left out, and relative times (`today-29d`, `tomorrow`) in date and timestamp variables become absolute
// values in the request's time zone. What is bound (and recorded in run.started) is always absolute; the
// relative expressions and the defaults used are recorded beside it.
import { AppError } from '../lib/errors.js';
import { isRelativeTime, isTimeZone, resolveRelativeTime } from '../lib/relative-time.js';
import { conventionalKind, variableNames, type VariableDeclaration } from './variables.js';

export interface EffectiveParams {
  /** What the run binds: the request's values, the defaults it lacked, relative times resolved. */
  params: Record<string, unknown>;
  /** Variable -> the relative value it was given (absent when none was relative). */
  relative: Record<string, unknown>;
  /** Variables that took their saved default. */
  defaulted: string[];
  timeZone: string;
}

const DEFAULT_TIME_ZONE = 'UTC';

export function checkTimeZone(timeZone: string | undefined): string {
  if (timeZone === undefined) return DEFAULT_TIME_ZONE;
  if (!isTimeZone(timeZone)) {
    throw new AppError(
      400,
      'invalid_request',
      `timeZone "${timeZone.slice(0, 64)}" is not a time zone (use an IANA name like Europe/Paris).`,
    );
  }
  return timeZone;
}

/** A saved default as a value: a list variable's default is comma-separated, as in a dashboard's field. */
function defaultValue(declaration: VariableDeclaration): unknown {
  const text = declaration.default!;
  return declaration.multiple
    ? text
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean)
    : text;
}

export function effectiveParams(
  sql: string,
  params: Record<string, unknown>,
  declarations: readonly VariableDeclaration[],
  options: { now?: Date; timeZone?: string } = {},
): EffectiveParams {
  const timeZone = checkTimeZone(options.timeZone);
  const now = options.now ?? new Date();
  const declared = new Map(declarations.map((d) => [d.name, d]));
  const effective: Record<string, unknown> = { ...params };
  const relative: Record<string, unknown> = {};
  const defaulted: string[] = [];

  for (const name of variableNames(sql)) {
    const declaration = declared.get(name);
    const given = Object.hasOwn(params, name) ? params[name] : undefined;
    if ((given === undefined || given === null) && declaration?.default !== undefined) {
      effective[name] = defaultValue(declaration);
      defaulted.push(name);
    }
    const kind = declaration?.kind ?? conventionalKind(name);
    if (kind !== 'timestamp' && kind !== 'date') continue;
    const value = effective[name];
    const resolve = (item: unknown) =>
      typeof item === 'string' && isRelativeTime(item) ? resolveRelativeTime(item, kind, { now, timeZone })! : item;
    const isRelative = (item: unknown) => typeof item === 'string' && isRelativeTime(item);
    if (Array.isArray(value) ? value.some(isRelative) : isRelative(value)) {
      relative[name] = value;
      effective[name] = Array.isArray(value) ? value.map(resolve) : resolve(value);
    }
  }
  return { params: effective, relative, defaulted, timeZone };
}
