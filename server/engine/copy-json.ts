// JSON rows from COPY (query) TO STDOUT in text format, as the CSV path takes PostgreSQL's CSV: PostgreSQL
// prints every value with the same output function as a cursor's text result, one CopyData message per
// row, and this module only re-frames each line into a JSON array, byte by byte, without making a string
// per value. The bytes are exactly what the converters (values.ts) and JSON.stringify make of the same
// text (test/engine/json-formatting.test.ts proves it for every type the converters know):
//   int2, int4, oid     the digits as they are (a JSON number)
//   bool                true / false
//   float4, float8      the converter's notation (NaN and infinities as strings)
//   timestamp(tz)       the converter's ISO 8601 form, as a string
//   anything else       its text as a JSON string (int8 and numeric stay exact)
// COPY's text format escapes a backslash as \\ and the control characters \b \f \n \r \t \v; all but \v
// are JSON's own escapes already, so they pass through. A raw " gets a backslash, other control
// characters become \u00XX (lowercase hex, as JSON.stringify writes them), and \N alone is NULL.
import { floatJson, isoTimestamp } from './values.js';

const NUMBER = 0;
const BOOLEAN = 1;
const FLOAT = 2;
const TIME = 3;
const TEXT = 4;
type Kind = typeof NUMBER | typeof BOOLEAN | typeof FLOAT | typeof TIME | typeof TEXT;

function kindOf(dataTypeID: number): Kind {
  switch (dataTypeID) {
    case 21:
    case 23:
    case 26:
      return NUMBER;
    case 16:
      return BOOLEAN;
    case 700:
    case 701:
      return FLOAT;
    case 1114:
    case 1184:
      return TIME;
    default:
      return TEXT;
  }
}

const TAB = 0x09;
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
const HEX = '0123456789abcdef';
/** The working buffer starts small (most results are) and grows as rows come; a grown size is kept up to this. */
const FIRST_CAPACITY = 64 * 1024;
const KEPT_CAPACITY = 2 * 1024 * 1024;
/** Runs of plain bytes at least this long are copied natively; shorter ones byte by byte. */
const NATIVE_COPY = 48;

/**
 * One batch of rows as JSON array elements, comma-separated (what goes inside [ ]). Rows are added from
 * CopyData messages; pg may reuse a message's memory once the handler returns, so each row is encoded at
 * once. `take()` hands the batch over and starts the next one.
 */
export class CopyJsonBatch {
  rows = 0;
  /** Where each row's JSON ends in the batch (for cutting a batch at the byte cap). */
  private readonly ends: number[] = [];
  private buffer: Buffer;
  private length = 0;
  private readonly kinds: Kind[];

  constructor(dataTypeIDs: readonly number[]) {
    this.kinds = dataTypeIDs.map(kindOf);
    this.buffer = Buffer.allocUnsafe(FIRST_CAPACITY);
  }

  /** Bytes of JSON in the batch. */
  get bytes(): number {
    return this.length;
  }

  /** Appends one COPY text line (with or without its newline) as a JSON array. */
  add(line: Buffer): void {
    let end = line.length;
    if (end > 0 && line[end - 1] === NEWLINE) end--;
    // At most six bytes out per byte in (\u00XX), plus brackets, commas and null/false per field.
    this.reserve(end * 6 + this.kinds.length * 8 + 4);
    const out = this.buffer;
    let o = this.length;
    if (this.rows > 0) out[o++] = COMMA;
    out[o++] = 0x5b; // [
    const kinds = this.kinds;
    let i = 0;
    for (let field = 0; field < kinds.length; field++) {
      if (field > 0) {
        if (line[i] !== TAB) throw new Error(`COPY row has fewer fields than the ${kinds.length} columns described`);
        i++;
        out[o++] = COMMA;
      }
      // \N alone is NULL (a backslash in a value is always doubled, so \N cannot start one).
      if (line[i] === BACKSLASH && line[i + 1] === 0x4e && (i + 2 === end || line[i + 2] === TAB)) {
        out[o++] = 0x6e; // null
        out[o++] = 0x75;
        out[o++] = 0x6c;
        out[o++] = 0x6c;
        i += 2;
        continue;
      }
      const kind = kinds[field]!;
      if (kind === TEXT) {
        out[o++] = QUOTE;
        let run = i;
        while (i < end) {
          const c = line[i]!;
          if (c === TAB) break;
          if (c > QUOTE && c !== BACKSLASH) {
            i++;
            continue;
          }
          if (c === 0x20 || c === 0x21) {
            i++;
            continue;
          }
          o = copyRun(line, run, i, out, o);
          if (c === BACKSLASH) {
            const escaped = line[i + 1]!;
            if (escaped === 0x76) {
              // \v: JSON has no such escape
              o = unicodeEscape(0x0b, out, o);
            } else {
              // \\ \b \f \n \r \t: the same escape in JSON
              out[o++] = BACKSLASH;
              out[o++] = escaped;
            }
            i += 2;
          } else if (c === QUOTE) {
            out[o++] = BACKSLASH;
            out[o++] = QUOTE;
            i++;
          } else {
            o = unicodeEscape(c, out, o);
            i++;
          }
          run = i;
        }
        o = copyRun(line, run, i, out, o);
        out[o++] = QUOTE;
        continue;
      }
      let stop = i;
      while (stop < end && line[stop] !== TAB) stop++;
      if (kind === NUMBER) {
        o = copyRun(line, i, stop, out, o);
      } else if (kind === BOOLEAN) {
        if (line[i] === 0x74) {
          out[o++] = 0x74; // true
          out[o++] = 0x72;
          out[o++] = 0x75;
          out[o++] = 0x65;
        } else {
          out[o++] = 0x66; // false
          out[o++] = 0x61;
          out[o++] = 0x6c;
          out[o++] = 0x73;
          out[o++] = 0x65;
        }
      } else if (kind === TIME) {
        const written = isoTimestampBytes(line, i, stop, out, o);
        o = written >= 0 ? written : writeAscii(`"${isoTimestamp(line.toString('latin1', i, stop)) as string}"`, out, o);
      } else {
        o = writeAscii(floatJson(line.toString('latin1', i, stop)), out, o);
      }
      i = stop;
    }
    if (i !== end) throw new Error(`COPY row has more fields than the ${kinds.length} columns described`);
    out[o++] = 0x5d; // ]
    this.length = o;
    this.ends.push(o);
    this.rows++;
  }

  /**
   * The batch so far (at most `maxBytes` of it, whole rows only), and a fresh batch for what follows.
   * Returns the JSON and its row count; the rows beyond `maxBytes` are dropped.
   */
  take(maxBytes = Number.POSITIVE_INFINITY): { json: Buffer; rows: number } {
    let rows = this.rows;
    let length = this.length;
    if (length > maxBytes) {
      rows = 0;
      while (rows < this.ends.length && this.ends[rows]! <= maxBytes) rows++;
      length = rows > 0 ? this.ends[rows - 1]! : 0;
    }
    // The bytes are UTF-8: PostgreSQL validates what it sends to a UTF8 client even from a SQL_ASCII
    // database (the test shows it), so nothing needs decoding here. The sink gets a copy of exactly these
    // bytes and the working buffer is reused: a view would keep the whole buffer (up to twice the bytes,
    // as it grows by doubling) alive until the socket took it and a GC ran, and a fresh buffer per batch
    // made that garbage twice over.
    const json = Buffer.allocUnsafe(length);
    this.buffer.copy(json, 0, 0, length);
    // A batch of huge rows does not keep its buffer that large.
    if (this.buffer.length > KEPT_CAPACITY) this.buffer = Buffer.allocUnsafe(KEPT_CAPACITY);
    this.length = 0;
    this.rows = 0;
    this.ends.length = 0;
    return { json, rows };
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

function copyRun(from: Buffer, start: number, end: number, to: Buffer, at: number): number {
  if (end - start >= NATIVE_COPY) return at + from.copy(to, at, start, end);
  for (let i = start; i < end; i++) to[at++] = from[i]!;
  return at;
}

function unicodeEscape(c: number, out: Buffer, o: number): number {
  out[o++] = BACKSLASH;
  out[o++] = 0x75; // u
  out[o++] = 0x30;
  out[o++] = 0x30;
  out[o++] = HEX.charCodeAt(c >> 4);
  out[o++] = HEX.charCodeAt(c & 15);
  return o;
}

/** Text that is ASCII by construction (numbers, timestamps), byte by byte: shorter than a native call. */
function writeAscii(text: string, out: Buffer, o: number): number {
  for (let k = 0; k < text.length; k++) out[o++] = text.charCodeAt(k);
  return o;
}

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

function digitsAt(line: Buffer, at: number, count: number): boolean {
  for (let k = at; k < at + count; k++) if (!isDigit(line[k])) return false;
  return true;
}

/**
 * isoTimestamp() (values.ts) on the bytes of "YYYY-MM-DD HH:MM:SS[.f][+HH[:MM[:SS]]]", the shape of every
 * finite AD timestamp with a four-digit year: a JSON string, or -1 for any other shape (infinity, BC, years
 * past 9999), which the caller converts as text.
 */
function isoTimestampBytes(line: Buffer, start: number, stop: number, out: Buffer, o: number): number {
  if (
    stop - start < 19 ||
    !digitsAt(line, start, 4) ||
    line[start + 4] !== 0x2d ||
    !digitsAt(line, start + 5, 2) ||
    line[start + 7] !== 0x2d ||
    !digitsAt(line, start + 8, 2) ||
    line[start + 10] !== 0x20 ||
    !digitsAt(line, start + 11, 2) ||
    line[start + 13] !== 0x3a ||
    !digitsAt(line, start + 14, 2) ||
    line[start + 16] !== 0x3a ||
    !digitsAt(line, start + 17, 2)
  ) {
    return -1;
  }
  let i = start + 19;
  if (line[i] === 0x2e && i < stop) {
    i++;
    const fraction = i;
    while (i < stop && isDigit(line[i])) i++;
    if (i === fraction) return -1;
  }
  const timeEnd = i;
  // The offset: [+-]HH, then :MM, then :SS, each optional after the hours.
  let offset = -1;
  let minutes = -1;
  let seconds = -1;
  if (i < stop) {
    if ((line[i] !== 0x2b && line[i] !== 0x2d) || !digitsAt(line, i + 1, 2) || i + 3 > stop) return -1;
    offset = i;
    i += 3;
    if (i < stop && line[i] === 0x3a && i + 3 <= stop && digitsAt(line, i + 1, 2)) {
      minutes = i + 1;
      i += 3;
    }
    if (i < stop && line[i] === 0x3a && i + 3 <= stop && digitsAt(line, i + 1, 2)) {
      seconds = i;
      i += 3;
    }
    if (i !== stop) return -1;
  }
  out[o++] = QUOTE;
  o = copyRun(line, start, start + 10, out, o);
  out[o++] = 0x54; // T
  o = copyRun(line, start + 11, timeEnd, out, o);
  if (offset >= 0) {
    const zeroHours = line[offset + 1] === 0x30 && line[offset + 2] === 0x30;
    const zeroMinutes = minutes < 0 || (line[minutes] === 0x30 && line[minutes + 1] === 0x30);
    if (zeroHours && zeroMinutes && seconds < 0) {
      out[o++] = 0x5a; // Z
    } else {
      o = copyRun(line, offset, offset + 3, out, o);
      out[o++] = 0x3a;
      if (minutes >= 0) o = copyRun(line, minutes, minutes + 2, out, o);
      else {
        out[o++] = 0x30;
        out[o++] = 0x30;
      }
      if (seconds >= 0) o = copyRun(line, seconds, seconds + 3, out, o);
    }
  }
  out[o++] = QUOTE;
  return o;
}
