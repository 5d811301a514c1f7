// JSON rows formatted by PostgreSQL (server/engine/json-rows.ts) against the converters (values.ts): for
// every type the converters know, the same query through both paths gives byte-identical rows (issue #17).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Execution, RowCollector, type JsonFormatting } from '../../server/engine/executor.js';
import { RunConnection } from '../../server/engine/run-connection.js';
import { prepareStatement } from '../../server/engine/statement.js';
import { adminUrl } from '../support/databases.js';

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
};

/** One column per type, one row per value (shorter lists repeat their last value); plus nulls everywhere. */
function everyTypeQuery(): string {
  const types = Object.keys(CASES);
  const height = Math.max(...types.map((t) => CASES[t]!.length));
  const rows = Array.from({ length: height }, (_, r) =>
    types.map((type) => `(${CASES[type]![Math.min(r, CASES[type]!.length - 1)]})::${type === 'char' ? '"char"' : type}`),
  );
  rows.push(types.map((type) => `null::${type === 'char' ? '"char"' : type}`));
  const columns = types.map((type) => `"${type}"`).join(', ');
  return `select * from (values ${rows.map((row) => `(${row.join(', ')})`).join(',\n')}) as v(${columns})`;
}

/** Floats across the whole range, so both notations and every exponent are crossed. */
const MANY_FLOATS = `select (case when g % 2 = 0 then -1 else 1 end * power(10::float8, (g % 617) - 308) * (1 + g * 0.000123456789))::float8 as f8,
  (power(10::float8, (g % 76) - 38) * (1 + g * 0.0031))::float4 as f4,
  (g * 1.000000001)::float8 / 7 as ratio
  from generate_series(1, 5000) g`;

describe('JSON rows formatted by PostgreSQL equal the converters, byte for byte', () => {
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
  ): Promise<{ json: string; formatting: JsonFormatting | undefined }> {
    const prepared = await prepareStatement(sql, params, [], { runId: 'formatting-test', userId: '1' });
    const connection = await RunConnection.open(pool);
    try {
      await connection.begin(60_000);
      await connection.client.query(`set local timezone = '${timeZone}'`);
      const execution = new Execution(connection, prepared);
      const collected = new RowCollector();
      await execution.json(LIMITS, collected, formatting ? { formatting } : {});
      return { json: collected.rowsJson, formatting: execution.formatting };
    } finally {
      await connection.release();
    }
  }

  async function bothPaths(sql: string, timeZone?: string, params?: Record<string, unknown>) {
    const database = await rowsJson(sql, 'database', timeZone, params);
    const converters = await rowsJson(sql, 'converters', timeZone, params);
    expect(database.formatting).toBe('database');
    expect(converters.formatting).toBe('converters');
    return { database: database.json, converters: converters.json };
  }

  it('for every type the converters know, in UTC and in zones with odd offsets', async () => {
    const sql = everyTypeQuery();
    for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Asia/Kathmandu', 'Europe/Amsterdam', 'America/Los_Angeles']) {
      const { database, converters } = await bothPaths(sql, zone);
      expect(database, zone).toBe(converters);
      expect(JSON.parse(`[${database}]`)).toHaveLength(Math.max(...Object.values(CASES).map((c) => c.length)) + 1);
    }
    // Spot checks of what both paths agree on: exact types stay strings, floats print as JavaScript does.
    const [first] = JSON.parse(`[${(await rowsJson(sql, 'database')).json}]`) as Array<Record<number, unknown>>;
    expect(first).toContain('-9223372036854775808');
    expect(first).toContain('2024-01-31T09:30:00Z');
  });

  it('for floats across their whole range, and with bound variables', async () => {
    const { database, converters } = await bothPaths(MANY_FLOATS);
    expect(database).toBe(converters);
    expect(JSON.parse(`[${database}]`)).toHaveLength(5000);
    const bound = await bothPaths('select g, g::float8 / {d} as q from generate_series(1, {n}) g', 'UTC', { n: 300, d: 7 });
    expect(bound.database).toBe(bound.converters);
  });

  it('keeps the converters for types the wrap does not know, EXPLAIN and SHOW', async () => {
    for (const sql of ['select array[1, 2] as a, 1 as b', 'explain select 1', 'show timezone', "select 'pg_class'::regclass"]) {
      expect((await rowsJson(sql, 'database')).formatting, sql).toBe('converters');
    }
    // Duplicate and odd column names are fine: the wrapper names the columns itself.
    const { database, converters } = await bothPaths('select 1, 1, 2 as "a""b", 3 as "?column?"');
    expect(database).toBe('[1,1,2,3]');
    expect(converters).toBe(database);
  });
});
