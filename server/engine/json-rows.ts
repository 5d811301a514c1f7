// JSON rows formatted by PostgreSQL, as COPY formats CSV: the statement is wrapped so that each row comes
// back as one JSON array text, byte for byte what the converters in values.ts and JSON.stringify would
// produce from the same values (int8 and numeric as strings, floats as JavaScript prints them, timestamps
// in the converters' ISO form, everything else as its PostgreSQL text in a JSON string).
//
// Measured (npm run bench -- engine, 1M rows x 8 mixed columns): PostgreSQL spends more on to_json and the
// array per value than the converters spend in JavaScript (24.8 s against 7.4 s for the whole response),
// so the runner uses the converters by default and this path is opt-in (JsonOptions.formatting).
//
// The wrap applies to plain queries (SELECT, VALUES, TABLE, WITH ... SELECT) whose every column has one of
// the built-in types the converters know. The converters still run for EXPLAIN and SHOW, for queries that
// return no columns, and for any column of another type (arrays, enums, domains, composites, ranges,
// geometric, bit strings, extension types): their text would need a per-type rule that nobody has proved.
import { parseSync } from 'libpg-query';
import { loadSqlParser } from './guard.js';
import type { FieldDescription } from './protocol.js';
import type { PreparedStatement, SentText } from './statement.js';

/** A column reference in the wrapper; `x` stands for it in the expressions below. */
const column = (index: number) => `c${index + 1}`;

/** JavaScript's Number#toString of a float from PostgreSQL's exponent form "1.5e-07" (shortest digits). */
const FLOAT_FROM_EXPONENT = `(select case
    when p.e >= 21 or p.e <= -7 then p.m || 'e' || case when p.e > 0 then '+' else '-' end || abs(p.e)
    when p.e < 0 then p.s || '0.' || repeat('0', -p.e - 1) || p.d
    when length(p.d) - 1 <= p.e then p.s || p.d || repeat('0', p.e - length(p.d) + 1)
    else p.s || left(p.d, p.e + 1) || '.' || substr(p.d, p.e + 2)
  end::json
  from (select split_part(t, 'e', 1) as m, split_part(t, 'e', 2)::int as e,
               replace(replace(split_part(t, 'e', 1), '-', ''), '.', '') as d,
               case when left(t, 1) = '-' then '-' else '' end as s
        from (select x::text as t) as f) as p)`;

/** The converters' isoTimestamp() for a timestamptz whose offset is not +00 (rare: UTC is the norm). */
const TIMESTAMPTZ_WITH_OFFSET = `(select case when m is null then t
    else m[1] || 'T' || m[2] || m[3] || m[4] || ':' || coalesce(m[5], '00') || coalesce(m[6], '') end
  from (select x::text as t) as f,
       regexp_match(t, E'^(\\\\d{4,}-\\\\d\\\\d-\\\\d\\\\d) (\\\\d\\\\d:\\\\d\\\\d:\\\\d\\\\d(?:\\\\.\\\\d+)?)([+-])(\\\\d\\\\d)(?::(\\\\d\\\\d))?(:\\\\d\\\\d)?$') as m)`;

/** How each built-in type becomes JSON; types not listed keep the converters (see the header). */
const EXPRESSIONS: Record<number, string> = {
  // int2, int4, bool: to_json prints them as the converters do (numbers, true/false).
  21: 'to_json(x)',
  23: 'to_json(x)',
  16: 'to_json(x)',
  26: 'to_json(x::int8)',
  // Exact types stay strings; json/jsonb and dates are their PostgreSQL text, as a string.
  20: 'to_json(x::text)',
  1700: 'to_json(x::text)',
  114: 'to_json(x::text)',
  3802: 'to_json(x::text)',
  1082: 'to_json(x::text)',
  // float4/float8: -0 prints as 0, NaN and infinities as strings, exponents as JavaScript writes them.
  700: `case when x is null then null when x = 0 then '0'::json when strpos(x::text, 'e') = 0 then to_json(x) else ${FLOAT_FROM_EXPONENT} end`,
  701: `case when x is null then null when x = 0 then '0'::json when strpos(x::text, 'e') = 0 then to_json(x) else ${FLOAT_FROM_EXPONENT} end`,
  // timestamp: "2024-01-31T09:30:00.5" for finite AD values; infinity and BC keep their text.
  1114: `to_json(case when isfinite(x) and x >= '0001-01-01' then replace(x::text, ' ', 'T') else x::text end)`,
  // timestamptz: "...Z" for +00 (only finite AD values end so), the general rule otherwise.
  1184: `to_json(case when right(x::text, 3) = '+00' then replace(left(x::text, -3), ' ', 'T') || 'Z' else ${TIMESTAMPTZ_WITH_OFFSET} end)`,
  // The rest print their output function's text as a JSON string (to_json, not ::text: bpchar keeps its
  // padding and inet its form, where a cast to text would change them).
  17: 'to_json(x)',
  18: 'to_json(x)',
  19: 'to_json(x)',
  25: 'to_json(x)',
  142: 'to_json(x)',
  790: 'to_json(x)',
  869: 'to_json(x)',
  1042: 'to_json(x)',
  1043: 'to_json(x)',
  1083: 'to_json(x)',
  1186: 'to_json(x)',
  1266: 'to_json(x)',
  2950: 'to_json(x)',
};

function expressionFor(dataTypeID: number, index: number): string | undefined {
  return EXPRESSIONS[dataTypeID]?.replace(/\bx\b/g, column(index));
}

/**
 * The statement wrapped so that each row is one JSON array text, or undefined when the converters must
 * run instead. The wrapped text is parsed again and must be exactly one SELECT reading one subquery, so no
 * SQL can escape the parentheses.
 */
export async function jsonRowsText(prepared: PreparedStatement, fields: FieldDescription[]): Promise<SentText | undefined> {
  if (prepared.checked.kind !== 'select' || fields.length === 0) return undefined;
  const expressions = fields.map((field, index) => expressionFor(field.dataTypeID, index));
  if (expressions.some((e) => e === undefined)) return undefined;
  const body = prepared.bound.text.slice(prepared.checked.start, prepared.checked.end);
  const opening = `select array_to_json(array[${expressions.join(', ')}]::json[])::text from (\n`;
  const wrapped = `${opening}${body}\n) as porthole_row(${fields.map((_, i) => column(i)).join(', ')})`;
  await loadSqlParser();
  let statements: Array<{ stmt?: unknown }>;
  try {
    statements = parseSync(wrapped).stmts ?? [];
  } catch {
    return undefined; // not a query a subquery can hold (the unwrapped statement still runs, or fails, as sent)
  }
  const select = (statements[0]?.stmt as { SelectStmt?: { fromClause?: Array<Record<string, unknown>> } } | undefined)
    ?.SelectStmt;
  const ok = statements.length === 1 && select?.fromClause?.length === 1 && select.fromClause[0]!.RangeSubselect !== undefined;
  if (!ok) return undefined;
  return {
    text: prepared.tag + wrapped,
    prefixLength: prepared.tag.length + opening.length,
    bodyStart: prepared.checked.start,
  };
}
