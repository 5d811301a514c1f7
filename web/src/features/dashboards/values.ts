// Dashboard variables: relative defaults ("today-29d", "tomorrow", "now-6h") resolved to values, the
// values carried in the URL (?start_time=...) so a link reproduces what one sees, and each card's
// parameters from them.
import { isRelativeTime, resolveRelativeTime } from '../../../../server/lib/relative-time';
import { browserTimeZone } from '../../lib/variables/variables';
import type { Card, CardQuery, DashboardVariable } from './api';

/** The page's query string as it is now (read when needed; the router tracks the path only). */
export const locationSearch = (): URLSearchParams => new URLSearchParams(window.location.search);

/**
 * A variable's default as the value to use now. A date or timestamp default may be relative, in the
 * queries' grammar (the engine's own file): resolved in the user's zone, as a query page does, and to
 * the minute, so the cards of a page and a reload within the minute run with the same values and share
 * cached results. Anything else is used as it is.
 */
export function resolveDefault(variable: DashboardVariable, now = new Date(), timeZone = browserTimeZone()): string {
  const value = variable.default ?? '';
  if ((variable.kind !== 'timestamp' && variable.kind !== 'date') || !isRelativeTime(value)) return value;
  const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  return resolveRelativeTime(value, variable.kind, { now: minute, timeZone }) ?? value;
}

/** The values in effect: the URL's where it names them, else the defaults. */
export function currentValues(
  variables: DashboardVariable[],
  search: URLSearchParams,
  now = new Date(),
  timeZone = browserTimeZone(),
): Record<string, string> {
  return Object.fromEntries(variables.map((v) => [v.name, search.get(v.name) ?? resolveDefault(v, now, timeZone)]));
}

/** A URL search for these values; only those that differ from their defaults are written. */
export function searchFor(variables: DashboardVariable[], values: Record<string, string>, keep: URLSearchParams): string {
  const search = new URLSearchParams(keep);
  for (const v of variables) {
    const value = values[v.name] ?? '';
    if (value === resolveDefault(v) || (value === '' && v.default === null)) search.delete(v.name);
    else search.set(v.name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** A card's parameters: each query variable takes the dashboard variable it maps to (by default, same name). */
export function cardParams(card: Card, query: CardQuery, values: Record<string, string>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const variable of query.variables) {
    const source = card.variableMap[variable.name] ?? variable.name;
    const value = values[source];
    if (value === undefined || value === '') continue;
    params[variable.name] = variable.multiple
      ? value
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean)
      : value;
  }
  return params;
}
