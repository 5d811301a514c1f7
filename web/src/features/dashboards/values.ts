// Dashboard variables: relative defaults ("now-30d", "today") resolved to values, the values carried in
// the URL (?start_time=...) so a link reproduces what one sees, and each card's parameters from them.
import type { Card, CardQuery, DashboardVariable } from './api';

/** The page's query string as it is now (read when needed; the router tracks the path only). */
export const locationSearch = (): URLSearchParams => new URLSearchParams(window.location.search);

const RELATIVE = /^(now|today)(?:-([0-9]{1,4})([hdw]))?$/;
const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** A variable's default as the value to use now: relative defaults become a date or a timestamp. */
export function resolveDefault(variable: DashboardVariable, now = new Date()): string {
  const value = variable.default ?? '';
  const relative = RELATIVE.exec(value);
  if (!relative) return value;
  const base = new Date(now);
  if (relative[1] === 'today') base.setUTCHours(0, 0, 0, 0);
  const back = relative[2] ? Number(relative[2]) * UNIT_MS[relative[3] as keyof typeof UNIT_MS] : 0;
  const at = new Date(base.getTime() - back);
  return variable.kind === 'date' ? at.toISOString().slice(0, 10) : at.toISOString().slice(0, 16) + 'Z';
}

/** The values in effect: the URL's where it names them, else the defaults. */
export function currentValues(variables: DashboardVariable[], search: URLSearchParams, now = new Date()): Record<string, string> {
  return Object.fromEntries(variables.map((v) => [v.name, search.get(v.name) ?? resolveDefault(v, now)]));
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
