// Result values: PostgreSQL sends every value as text (the runner never asks for binary), and this module
// turns that text into JSON without losing anything: 64-bit integers and numerics stay strings, floats
// become numbers only when the text round-trips, timestamps become ISO 8601 with their full precision.
// CSV keeps PostgreSQL's own text, formatted exactly as COPY ... (FORMAT csv) does.

export type ColumnKind = 'number' | 'string' | 'time' | 'date' | 'boolean' | 'json' | 'binary';
export type JsonValue = string | number | boolean | null;

export interface ColumnInfo {
  name: string;
  /** How the UI should treat the column (right-align numbers, format times, choose a chart). */
  type: ColumnKind;
  /** PostgreSQL's type name for built-in types, e.g. int8 or timestamptz. */
  dbType?: string;
}

interface BuiltinType {
  name: string;
  kind: ColumnKind;
}

const BUILTIN_TYPES: Record<number, BuiltinType> = {
  16: { name: 'bool', kind: 'boolean' },
  17: { name: 'bytea', kind: 'binary' },
  18: { name: 'char', kind: 'string' },
  19: { name: 'name', kind: 'string' },
  20: { name: 'int8', kind: 'number' },
  21: { name: 'int2', kind: 'number' },
  23: { name: 'int4', kind: 'number' },
  25: { name: 'text', kind: 'string' },
  26: { name: 'oid', kind: 'number' },
  114: { name: 'json', kind: 'json' },
  142: { name: 'xml', kind: 'string' },
  700: { name: 'float4', kind: 'number' },
  701: { name: 'float8', kind: 'number' },
  790: { name: 'money', kind: 'string' },
  869: { name: 'inet', kind: 'string' },
  1042: { name: 'bpchar', kind: 'string' },
  1043: { name: 'varchar', kind: 'string' },
  1082: { name: 'date', kind: 'date' },
  1083: { name: 'time', kind: 'string' },
  1114: { name: 'timestamp', kind: 'time' },
  1184: { name: 'timestamptz', kind: 'time' },
  1186: { name: 'interval', kind: 'string' },
  1266: { name: 'timetz', kind: 'string' },
  1700: { name: 'numeric', kind: 'number' },
  2950: { name: 'uuid', kind: 'string' },
  3802: { name: 'jsonb', kind: 'json' },
};

export function columnInfo(name: string, dataTypeID: number): ColumnInfo {
  const builtin = BUILTIN_TYPES[dataTypeID];
  return builtin ? { name, type: builtin.kind, dbType: builtin.name } : { name, type: 'string' };
}

type Converter = (text: string) => JsonValue;

const asText: Converter = (text) => text;

/** int2, int4, oid: always safe as JSON numbers. */
const smallInteger: Converter = (text) => Number(text);

/** JSON text placed into JSON.stringify's output as it is (Node 21+). */
declare global {
  interface JSON {
    rawJSON(text: string): unknown;
  }
}

/**
 * float4/float8: PostgreSQL 12+ prints the shortest text that round-trips; NaN and infinities stay text.
 * The digits stay PostgreSQL's and only the notation becomes JavaScript's ("1.5e-7", "1e+21",
 * "1000000000000000"): in rare exactly-halfway cases PostgreSQL's digits are one longer than JavaScript's
 * own (-1.2499999999999999e+22 for -1.25e+22, the same double), and keeping them makes this converter
 * agree byte for byte with the formatting PostgreSQL does itself (json-rows.ts).
 */
const float: Converter = (text) => {
  const e = text.indexOf('e');
  if (e < 0) {
    const value = Number(text);
    return Number.isFinite(value) ? value : text;
  }
  return JSON.rawJSON(javascriptNotation(text, e)) as JsonValue;
};

/** The JSON text of what the float converter makes of `text` (for rows PostgreSQL formats, copy-json.ts). */
export function floatJson(text: string): string {
  const e = text.indexOf('e');
  if (e >= 0) return javascriptNotation(text, e);
  const value = Number(text);
  // JSON.stringify writes a finite number as String() does, but into a new string: String() puts its
  // result in V8's number-string cache, allocated in the old generation, so a million floats left tens of
  // MB of garbage there until the next full GC.
  return Number.isFinite(value) ? JSON.stringify(value) : `"${text}"`;
}

/** "1.5e-07" -> "1.5e-7", "1e+15" -> "1000000000000000", "1.2e-05" -> "0.000012": Number#toString's notation. */
function javascriptNotation(text: string, e: number): string {
  const mantissa = text.slice(0, e);
  const exponent = Number(text.slice(e + 1));
  if (exponent >= 21 || exponent <= -7) return `${mantissa}e${exponent > 0 ? '+' : '-'}${Math.abs(exponent)}`;
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  if (digits.length - 1 <= exponent) return `${sign}${digits}${'0'.repeat(exponent - digits.length + 1)}`;
  return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
}

const boolean: Converter = (text) => text === 't';

// ISO DateStyle (the runner sets it): "2024-01-31 09:30:00.123456+00", "+05:30", "-08", BC dates with a suffix.
const TIMESTAMP_TEXT = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(?:([+-])(\d\d)(?::(\d\d))?(:\d\d)?)?$/;

/** ISO 8601 with the original precision: "2024-01-31T09:30:00.123456Z", "...+05:30"; infinity etc. unchanged. */
export const isoTimestamp: Converter = (text) => {
  const match = TIMESTAMP_TEXT.exec(text);
  if (!match) return text;
  const [, date, time, sign, hours, minutes, seconds] = match;
  if (!sign) return `${date}T${time}`;
  if (hours === '00' && (minutes ?? '00') === '00' && !seconds) return `${date}T${time}Z`;
  return `${date}T${time}${sign}${hours}:${minutes ?? '00'}${seconds ?? ''}`;
};

export function converterFor(dataTypeID: number): Converter {
  switch (dataTypeID) {
    case 21:
    case 23:
    case 26:
      return smallInteger;
    case 700:
    case 701:
      return float;
    case 16:
      return boolean;
    case 1114:
    case 1184:
      return isoTimestamp;
    default:
      // int8 and numeric stay strings (never rounded); dates are already ISO; json stays its own text.
      return asText;
  }
}

/** Converts one batch of text rows in place into JSON values. */
export function convertRows(rows: Array<Array<string | null>>, converters: Converter[]): JsonValue[][] {
  const width = converters.length;
  for (const row of rows as JsonValue[][]) {
    for (let i = 0; i < width; i++) {
      const value = row[i];
      if (value !== null) row[i] = converters[i]!(value as string);
    }
  }
  return rows as JsonValue[][];
}

const NEEDS_CSV_QUOTES = /[",\r\n]/;

/** One field as COPY ... (FORMAT csv) writes it: NULL is empty, the empty string is "". */
export function csvField(value: string | null): string {
  if (value === null) return '';
  if (value === '' || value === '\\.') return value === '' ? '""' : '"\\."';
  return NEEDS_CSV_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvLine(values: ReadonlyArray<string | null>): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += ',';
    line += csvField(values[i]!);
  }
  return line + '\n';
}
