// How cell values read in the grid: numbers grouped by thousands without losing digits (int8 and
// numeric arrive as strings), id columns left alone, instants in the user's time zone with that zone shown,
// timestamps without a zone as stored, URLs detected.
import type { CellValue, ColumnKind } from './result';

const ID_COLUMN = /(^id$|_id$|[a-z0-9]Id$|^ID$|_ID$)/;
/** Ids, foreign keys, years and codes read wrong with separators: `user_id`, `userId`, `id`. */
export const isIdColumn = (name: string) => ID_COLUMN.test(name);

const DECIMAL_TEXT = /^(-?)(\d+)(\.\d+)?$/;
const separators = (() => {
  const parts = new Intl.NumberFormat().formatToParts(1234567.5);
  return {
    group: parts.find((part) => part.type === 'group')?.value ?? ',',
    decimal: parts.find((part) => part.type === 'decimal')?.value ?? '.',
  };
})();

function groupDigits(digits: string): string {
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += separators.group;
    out += digits[i];
  }
  return out;
}

/** "1234567.891" -> "1,234,567.891" in the user's locale, every digit kept; ids stay as they are. */
export function formatNumber(value: CellValue, columnName: string): string {
  if (value === null) return 'NULL';
  const text = String(value);
  if (isIdColumn(columnName)) return text;
  const match = DECIMAL_TEXT.exec(text);
  if (!match) return text; // NaN, Infinity, 1e+21
  const [, sign, whole, fraction] = match;
  return `${sign}${groupDigits(whole!)}${fraction ? separators.decimal + fraction.slice(1) : ''}`;
}

const ZONED = /^(\d{4,}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d(?::?\d\d)?(?::\d\d)?)$/;
const dateTimeFormat = new Intl.DateTimeFormat('en-CA', {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

export const userTimeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'Etc/Universal', 'Universal', 'Etc/Zulu', 'Zulu']);

const pad = (n: number) => String(n).padStart(2, '0');

/** The zone shown after an instant: "UTC" for a UTC user, else the offset in force then ("+01:00"). */
function zoneLabel(date: Date): string {
  if (UTC_NAMES.has(userTimeZone)) return 'UTC';
  const offset = -date.getTimezoneOffset(); // this runtime's zone is the user's (userTimeZone)
  return `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

/**
 * A timestamptz ("2024-01-31T09:30:00.123456Z") is an instant: shown in the user's zone, with that zone, as
 * "2024-01-31 10:30:00.123456 +01:00" ("... UTC" for a user in UTC), so it never reads as a wall-clock time.
 * A timestamp without time zone is not an instant: shown as stored, only its "T" becomes a space, and no
 * zone is invented. Infinity and BC dates pass through.
 */
export function formatTime(value: string): string {
  const match = ZONED.exec(value);
  if (!match) return value.replace('T', ' ');
  const date = new Date(`${match[1]}T${match[2]}${match[4]}`);
  if (Number.isNaN(date.getTime())) return value;
  const parts = Object.fromEntries(dateTimeFormat.formatToParts(date).map((part) => [part.type, part.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}${match[3] ?? ''} ${zoneLabel(date)}`;
}

/** A column header's tooltip: its PostgreSQL type, and for times how they are shown. */
export function columnTitle(column: { name: string; type: string; dbType?: string }): string {
  const type = column.dbType ?? column.type;
  if (column.dbType === 'timestamptz') return `${column.name} (timestamptz, shown in your time zone: ${userTimeZone})`;
  if (column.dbType === 'timestamp') return `${column.name} (timestamp without time zone, shown as stored)`;
  return `${column.name} (${type})`;
}

const URL_TEXT = /^https?:\/\/[^\s<>"]+$/i;
export const isUrl = (value: CellValue): value is string =>
  typeof value === 'string' && value.length < 2048 && URL_TEXT.test(value);

/** The text a cell shows (NULL is drawn separately so it never looks like the string "NULL"). */
export function cellText(value: CellValue, kind: ColumnKind, columnName: string): string {
  if (value === null) return '';
  if (kind === 'number') return formatNumber(value, columnName);
  if (kind === 'time' && typeof value === 'string') return formatTime(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

/** Plain text for the clipboard: the lossless value, tab-separated for a row. */
export function copyText(value: CellValue): string {
  return value === null ? '' : String(value);
}
