// JSON rows through COPY (PostgreSQL formats the values, server/engine/copy-json.ts re-frames them) against
// the cursor and the converters (values.ts): for every type the converters know, and the text of any other,
// the same query through both paths gives byte-identical rows (issue #19).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Execution, RowCollector, type JsonFormatting } from '../../server/engine/executor.js';
import { RunConnection } from '../../server/engine/run-connection.js';
import { prepareStatement } from '../../server/engine/statement.js';
import { databaseUrl } from '../../schema/provision.js';
import { adminQuery, adminUrl } from '../support/databases.js';

const LIMITS = { maxRows: 1_000_000, maxBytes: 1e9, maxRowBytes: 1e8 };

/** Values of one type, as SQL literals (cast to the type by the query). */
const CASES: Record<string, string[]> = {
  int2: ['-32768', '0', '32767', 'null'],
  int4: ['-2147483648', '0', '2147483647', '7'],
  int8: ['-9223372036854775808', '0', '9223372036854775807'],
  oid: ['0', '4294967295', '1259'],
  numeric: ["'NaN'", "'Infinity'", "'-Infinity'", '0', "'-0.000'", '1e-20', '123456789012345678901234567890.123456789', '-5.50'],
  float8: [
    '0',
    "'-0'",
    "'NaN'",
    "'Infinity'",
    "'-Infinity'",
    '0.1',
    '-1.5',
    '100',
    '1e14',
    '1e15',
    '1e16',
    '1234567890123456.7',
    '1.2345678901234567e17',
    '1e20',
    '123456789012345680000',
    '1e21',
    '-1.25e22',
    '0.0001',
    '0.000123',
    '1e-5',
    '-2.5e-5',
    '1e-6',
    '1.5e-7',
    '1e-7',
    '5e-324',
    '2.2250738585072014e-308',
    '1.7976931348623157e308',
  ],
  float4: [
    '0',
    "'-0'",
    "'NaN'",
    "'Infinity'",
    '1.1',
    '100000',
    '1e6',
    '1234567',
    '123456.7',
    '1e-5',
    '3.4028235e38',
    '1.4e-45',
    '-7.5e-7',
  ],
  bool: ['true', 'false', 'null'],
  text: [
    "''",
    `'quote " backslash \\ slash /'`,
    "E'controls \\x01\\x02\\x08\\x09\\x0a\\x0b\\x0c\\x0d\\x1b\\x1f and DEL \\x7f'",
    "'unicode é ü 中文 🚀 \u2028 \u2029'",
    "'</script><script>'",
  ],
  varchar: ["'plain'", "'tab\there'"],
  bpchar: ["'ab'::char(5)", "'x'::char(1)"],
  name: ["'pg_class'"],
  char: [`'a'::"char"`],
  json: [`'{"a": [1, 2.50, "x\\u0000"], "b": null}'`, `'"just a string"'`, "'  [ 1 ,2 ]  '"],
  jsonb: [`'{"b": 1, "a": [true, 1.50]}'`, "'null'"],
  date: ["'2024-01-31'", "'infinity'", "'-infinity'", "'0044-03-15 BC'", "'10000-01-01'"],
  timestamp: [
    "'2024-01-31 09:30:00'",
    "'2024-01-31 09:30:00.123456'",
    "'infinity'",
    "'-infinity'",
    "'0044-03-15 12:00 BC'",
    "'10000-01-01 00:00'",
    "'0001-01-01 00:00'",
  ],
  timestamptz: [
    "'2024-01-31 09:30:00+00'",
    "'2024-06-30 23:59:59.999999+05:30'",
    "'1900-01-01 12:00:00+00'",
    "'infinity'",
    "'-infinity'",
    "'0044-03-15 12:00+00 BC'",
    "'10000-01-01 00:00+00'",
  ],
  bytea: ["'\\x00ff10'", "''"],
  xml: ['\'<a href="x">x &amp; y</a>\''],
  money: ['12.34', '-1'],
  inet: ["'1.2.3.4'", "'10.0.0.0/8'", "'::1'"],
  time: ["'12:34:56.789'", "'00:00'"],
  timetz: ["'12:34:56+05:30'", "'23:59:59-08'"],
  interval: ["'1 year 2 mons -3 days 04:05:06.789'", "'0'"],
  uuid: ["'00000000-0000-0000-0000-000000000000'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"],
  // Types the converters pass through as text: COPY escapes their text like any other.
  'text[]': ["'{1,2,null}'", `array['a"b', 'c\\d', null, 'tab\there']::text[]`],
  int4range: ["'[1,5)'", "'empty'"],
  bit: ["B'1010'::bit(4)"],
  point: ["'(1.5,-2)'"],
};

/** Text that COPY's escaping and JSON's must agree on: each of COPY's escapes, quotes, controls, \N. */
const TRICKY_TEXT = [
  "E'tab\\there'",
  "E'new\\nline and return\\r'",
  "E'\\b\\f\\x0b vertical tab'",
  `'back\\slash \\N not null \\ at the end \\'`,
  "'\\N'",
  "'N'",
  "''",
  `'"'`,
  "E'\\x01\\x1f\\x7f'",
  "'é\u2028🚀'",
  "repeat('long plain run of bytes ', 20)",
  "repeat(E'\\t\"\\\\', 30)",
];

const typeName = (type: string) => (type === 'char' ? '"char"' : type);

/** One column per type, one row per value (shorter lists repeat their last value); plus nulls everywhere. */
function everyTypeQuery(): string {
  const types = Object.keys(CASES);
  const height = Math.max(...types.map((t) => CASES[t]!.length));
  const rows = Array.from({ length: height }, (_, r) =>
    types.map((type) => `(${CASES[type]![Math.min(r, CASES[type]!.length - 1)]})::${typeName(type)}`),
  );
  rows.push(types.map((type) => `null::${typeName(type)}`));
  const columns = types.map((type) => `"${type}"`).join(', ');
  return `select * from (values ${rows.map((row) => `(${row.join(', ')})`).join(',\n')}) as v(${columns})`;
}

/** Floats across the whole range, so both notations and every exponent are crossed. */
const MANY_FLOATS = `select (case when g % 2 = 0 then -1 else 1 end * power(10::float8, (g % 617) - 308) * (1 + g * 0.000123456789))::float8 as f8,
  (power(10::float8, (g % 76) - 38) * (1 + g * 0.0031))::float4 as f4,
  (g * 1.000000001)::float8 / 7 as ratio
  from generate_series(1, 5000) g`;

describe('JSON rows through COPY equal the converters, byte for byte', () => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: adminUrl(), max: 1 });
  });
  afterAll(() => pool?.end());

  async function rowsJson(
    sql: string,
    formatting: JsonFormatting | undefined,
    timeZone = 'UTC',
    params: Record<string, unknown> = {},
    on = pool,
  ): Promise<{ json: string; formatting: JsonFormatting | undefined }> {
    const prepared = await prepareStatement(sql, params, [], { runId: 'formatting-test', userId: '1' });
    const connection = await RunConnection.open(on);
    try {
      await connection.begin(60_000);
      await connection.client.query(`set local timezone = '${timeZone}'`);
      const execution = new Execution(connection, prepared);
      const collected = new RowCollector();
      await execution.json(LIMITS, collected, formatting ? { formatting } : {});
      return { json: collected.rowsJson.toString('utf8'), formatting: execution.formatting };
    } finally {
      await connection.release();
    }
  }

  async function bothPaths(sql: string, timeZone?: string, params?: Record<string, unknown>, on?: pg.Pool) {
    const copy = await rowsJson(sql, undefined, timeZone, params, on);
    const converters = await rowsJson(sql, 'converters', timeZone, params, on);
    expect(copy.formatting).toBe('copy');
    expect(converters.formatting).toBe('converters');
    return { copy: copy.json, converters: converters.json };
  }

  it('for every type the converters know, in UTC and in zones with odd offsets', async () => {
    const sql = everyTypeQuery();
    for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Asia/Kathmandu', 'Europe/Amsterdam', 'America/Los_Angeles']) {
      const { copy, converters } = await bothPaths(sql, zone);
      expect(copy, zone).toBe(converters);
      expect(JSON.parse(`[${copy}]`)).toHaveLength(Math.max(...Object.values(CASES).map((c) => c.length)) + 1);
    }
    // Spot checks of what both paths agree on: exact types stay strings, floats print as JavaScript does,
    // offsets of whole seconds (local mean time before 1900) keep them.
    const [first] = JSON.parse(`[${(await rowsJson(sql, undefined)).json}]`) as Array<Record<number, unknown>>;
    expect(first).toContain('-9223372036854775808');
    expect(first).toContain('2024-01-31T09:30:00Z');
    const lmt = await bothPaths("select timestamptz '1850-01-01 12:00+00' as t", 'Asia/Kolkata');
    expect(lmt.copy).toBe('["1850-01-01T17:53:28+05:53:28"]');
    expect(lmt.converters).toBe(lmt.copy);
  });

  it("for text that COPY escapes: tabs, newlines, backslashes, \\v, quotes, control characters, '\\N'", async () => {
    const sql = `select v, length(v) as n, v as again from (values ${TRICKY_TEXT.map((t) => `((${t})::text)`).join(', ')}) as t(v)`;
    const { copy, converters } = await bothPaths(sql);
    expect(copy).toBe(converters);
    const rows = JSON.parse(`[${copy}]`) as Array<[string, number, string]>;
    expect(rows.map(([v, n]) => [[...v].length, n])).toEqual(rows.map(([, n]) => [n, n])); // nothing lost or added
    expect(rows.map(([v]) => v)).toContain('\\N');
    expect(rows.map(([v]) => v)).toContain('\t"\\'.repeat(30));
  });

  it('for floats across their whole range', async () => {
    const { copy, converters } = await bothPaths(MANY_FLOATS);
    expect(copy).toBe(converters);
    expect(JSON.parse(`[${copy}]`)).toHaveLength(5000);
  });

  it('keeps the cursor and the converters for bound variables, EXPLAIN and SHOW', async () => {
    for (const [sql, params] of [
      ['select g, g::float8 / {d} as q from generate_series(1, {n}) g', { n: 300, d: 7 }],
      ['explain select 1', {}],
      ['show timezone', {}],
    ] as const) {
      expect((await rowsJson(sql, undefined, 'UTC', params)).formatting, sql).toBe('converters');
    }
    // Duplicate, odd and missing column names are fine: the wrapper selects * from the statement.
    const { copy, converters } = await bothPaths('select 1, 1, 2 as "a""b", 3 as "?column?"');
    expect(copy).toBe('[1,1,2,3]');
    expect(converters).toBe(copy);
    const none = await bothPaths('select from generate_series(1, 3)');
    expect(none.copy).toBe('[],[],[]');
    expect(none.converters).toBe(none.copy);
  });

  it("needs no decoding: PostgreSQL refuses to send a SQL_ASCII database's bytes that are not UTF-8", async () => {
    const database = `porthole_sql_ascii_${randomBytes(4).toString('hex')}`;
    await adminQuery(`create database ${database} encoding 'SQL_ASCII' lc_collate 'C' lc_ctype 'C' template template0`);
    const asciiPool = new pg.Pool({ connectionString: databaseUrl(adminUrl(), { database }), max: 1 });
    try {
      const sql = `select convert_from('\\x41ff42'::bytea, 'SQL_ASCII') as bad, 'ok' as good`;
      for (const formatting of [undefined, 'converters'] as const) {
        await expect(rowsJson(sql, formatting, 'UTC', {}, asciiPool)).rejects.toMatchObject({ code: '22021' });
      }
      const plain = await bothPaths(`select convert_from('\\x41c3a942'::bytea, 'SQL_ASCII') as fine`, 'UTC', {}, asciiPool);
      expect(plain.copy).toBe('["AéB"]');
      expect(plain.converters).toBe(plain.copy);
    } finally {
      await asciiPool.end();
      await adminQuery(`drop database ${database} with (force)`);
    }
  });
});
