// The `{variables}` in a query's SQL, the input each gets (Blazer's naming conventions, as the engine
// types them), the date-range presets, and the URL parameters that carry their values so a link
// reproduces the run.
// The relative-time grammar is the engine's own file: one reading of `today-29d` for the server that
// resolves it and the form that shows what it resolves to.
import { isRelativeTime, resolveRelativeTime } from '../../../../server/lib/relative-time';

export type VariableInput = 'text' | 'number' | 'datetime' | 'range-start' | 'range-end';

const VARIABLE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/y;
const DOLLAR_TAG = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;

/**
 * Variable names in order of first use, skipping comments, string literals, quoted identifiers and
 * dollar-quoted bodies, as the engine does (a `'{name}'` literal alone is a variable there too).
 */
export function findVariables(sql: string): string[] {
  const names: string[] = [];
  const add = (name: string) => names.includes(name) || names.push(name);
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
    } else if (ch === "'") {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === "'" && sql[j + 1] !== "'")) j += sql[j] === "'" ? 2 : 1;
      const literal = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(sql.slice(i + 1, j));
      if (
        literal &&
        !sql
          .slice(j + 1)
          .trimStart()
          .startsWith('::')
      )
        add(literal[1]!);
      i = j + 1;
    } else if (ch === '"') {
      let j = i + 1;
      while (j < sql.length && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
      i = j + 1;
    } else if (ch === '$' && !/[\w$]/.test(sql[i - 1] ?? '')) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql);
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        i = close === -1 ? sql.length : close + tag[0].length;
      } else i++;
    } else if (ch === '{') {
      VARIABLE.lastIndex = i;
      const match = VARIABLE.exec(sql);
      if (match) {
        add(match[1]!);
        i += match[0].length;
      } else i++;
    } else i++;
  }
  return names;
}

export function inputFor(name: string): VariableInput {
  const lower = name.toLowerCase();
  if (lower === 'start_time') return 'range-start';
  if (lower === 'end_time') return 'range-end';
  if (lower.endsWith('_at')) return 'datetime';
  if (/(^|_)(id|count|limit|n|number|min|max)$/.test(lower)) return 'number';
  return 'text';
}

/** URL parameters are the variable names themselves, as in Blazer's links: /queries/12-x?start_time=… */
export function readFromUrl(search: string, names: string[]): Record<string, string> {
  const params = new URLSearchParams(search);
  const values: Record<string, string> = {};
  for (const name of names) {
    const value = params.get(name);
    if (value !== null) values[name] = value;
  }
  return values;
}

/** The query string with these variables' values set (empty ones removed) and other parameters kept. */
export function writeToUrl(search: string, values: Record<string, string>, names: string[]): string {
  const params = new URLSearchParams(search);
  for (const name of names) {
    const value = values[name];
    if (value) params.set(name, value);
    else params.delete(name);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');

/** ISO 8601 with the local offset, exact to the second: what the engine parses as a timestamptz. */
export function localIso(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  );
}

/** For <input type="datetime-local">: "2024-01-31T09:30" in the user's zone, from any ISO value. */
export function toLocalInput(value: string): string {
  const date = new Date(value);
  if (!value || Number.isNaN(date.getTime())) return '';
  return localIso(date).slice(0, 16);
}

/** From <input type="datetime-local"> back to ISO with the offset, so a shared link means the same instant. */
export function fromLocalInput(value: string): string {
  if (!value) return '';
  const date = new Date(value); // local time, as the input shows it
  return Number.isNaN(date.getTime()) ? '' : localIso(date);
}

/** The browser's IANA time zone: runs send it, so `today` means the user's today. */
export const browserTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/**
 * The date-range presets, as relative times (server/lib/relative-time.ts) with an exclusive end: "Last 30
 * days" is today-29d (midnight 29 days ago) up to tomorrow (the start of the next day), read by SQL as
 * `created_at >= {start_time} and created_at < {end_time}`. The values stay relative in the URL and in a
 * saved default, so a shared link keeps rolling; each run resolves them when it starts.
 */
export const RANGE_PRESETS = [
  { label: 'Today', start: 'today', end: 'tomorrow' },
  { label: 'Yesterday', start: 'today-1d', end: 'today' },
  { label: 'Last 7 days', start: 'today-6d', end: 'tomorrow' },
  { label: 'Last 30 days', start: 'today-29d', end: 'tomorrow' },
  { label: 'Last 90 days', start: 'today-89d', end: 'tomorrow' },
  { label: 'This month', start: 'this_month', end: 'tomorrow' },
  { label: 'Last month', start: 'this_month-1mo', end: 'this_month' },
] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];

/** The preset a start/end pair is, if any. */
export function presetOf(start: string | undefined, end: string | undefined): RangePreset | undefined {
  return RANGE_PRESETS.find((preset) => preset.start === start?.trim() && preset.end === end?.trim());
}

export { isRelativeTime };

/** A value as an instant to show: relative times resolved now, in the user's zone; anything else as it is. */
export function resolvedForDisplay(value: string, now = new Date()): string {
  return isRelativeTime(value) ? resolveRelativeTime(value, 'timestamp', { now, timeZone: browserTimeZone() })! : value;
}
