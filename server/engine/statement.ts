// Turns what a user (or a saved query) supplied into the statement the runner sends: variables bound,
// the guard passed, and the run's tag in front so a DBA can trace it in pg_stat_activity. Errors from
// PostgreSQL point into the text actually sent; positionInOriginal() maps them back to the user's SQL.
import { loadSqlParser, checkStatement, type CheckedStatement } from './guard.js';
import { checkSqlText } from './input.js';
import { codePointToUtf16, positionAt, type SqlPosition } from './sql-position.js';
import { bindVariables, type BoundSql, type VariableDeclaration } from './variables.js';
import { parseSync } from 'libpg-query';

export interface RunTag {
  runId: string;
  userId: string;
  queryId?: string;
}

export interface PreparedStatement {
  /** The SQL as the user (or the saved version) wrote it. */
  original: string;
  bound: BoundSql;
  checked: CheckedStatement;
  /** `/* porthole run:… user:… query:… *\/` and a newline. */
  tag: string;
}

/** Text sent to PostgreSQL, and where in it the bound SQL's `bodyStart` offset begins. */
export interface SentText {
  text: string;
  /** UTF-16 length of whatever precedes the body (the tag, a COPY wrapper). */
  prefixLength: number;
  /** Offset in bound.text of the first character sent after the prefix. */
  bodyStart: number;
}

const SAFE_TAG_VALUE = /^[A-Za-z0-9_-]{1,64}$/;

export function runTag(tag: RunTag): string {
  // Ids are generated or numeric; anything else is dropped rather than written into a comment.
  const value = (v: string | undefined) => (v !== undefined && SAFE_TAG_VALUE.test(v) ? v : '-');
  return `/* porthole run:${value(tag.runId)} user:${value(tag.userId)} query:${value(tag.queryId)} */\n`;
}

/** Checks, binds and guards the SQL; every refusal is a 4xx AppError with a position when there is one. */
export async function prepareStatement(
  sql: string,
  params: Record<string, unknown>,
  declarations: readonly VariableDeclaration[],
  tag: RunTag,
): Promise<PreparedStatement> {
  checkSqlText(sql);
  const bound = bindVariables(sql, params, declarations);
  const checked = await checkStatement(bound.text, sql, bound.offsets);
  return { original: sql, bound, checked, tag: runTag(tag) };
}

/** The statement as a cursor runs it: the tag, then the SQL with $n placeholders. */
export function cursorText(prepared: PreparedStatement): SentText {
  return { text: prepared.tag + prepared.bound.text, prefixLength: prepared.tag.length, bodyStart: 0 };
}

/**
 * COPY (statement) TO STDOUT for a CSV download, or undefined when the statement cannot be wrapped
 * (it uses variables, which COPY cannot bind, or is not a plain query). The wrapped text is parsed again
 * and must be exactly one COPY of a SELECT to STDOUT, so no SQL can escape the parentheses.
 */
export async function copyText(prepared: PreparedStatement): Promise<SentText | undefined> {
  if (prepared.bound.values.length > 0 || prepared.checked.kind !== 'select') return undefined;
  const body = prepared.bound.text.slice(prepared.checked.start, prepared.checked.end);
  const opening = 'COPY (\n';
  const wrapped = `${opening}${body}\n) TO STDOUT WITH (FORMAT csv, HEADER true)`;
  await loadSqlParser();
  const statements = parseSync(wrapped).stmts ?? [];
  const copy = statements[0]?.stmt as {
    CopyStmt?: { query?: Record<string, unknown>; filename?: string; is_from?: boolean; is_program?: boolean };
  };
  const ok =
    statements.length === 1 &&
    copy?.CopyStmt !== undefined &&
    copy.CopyStmt.query?.SelectStmt !== undefined &&
    !copy.CopyStmt.filename &&
    !copy.CopyStmt.is_from &&
    !copy.CopyStmt.is_program;
  if (!ok) return undefined;
  return {
    text: prepared.tag + wrapped,
    prefixLength: prepared.tag.length + opening.length,
    bodyStart: prepared.checked.start,
  };
}

/**
 * COPY (SELECT * FROM (statement) LIMIT n) TO STDOUT in text format, for a JSON result whose rows
 * PostgreSQL formats (copy-json.ts), or undefined when COPY cannot run the statement (variables, EXPLAIN,
 * SHOW). `rowLimit` is the row cap plus one: a capped result ends by itself, the connection stays usable.
 * As for CSV, the wrapped text is parsed again and must be exactly one COPY to STDOUT of a SELECT that
 * reads one subquery, so no SQL can escape the parentheses.
 */
export async function jsonCopyText(prepared: PreparedStatement, rowLimit: number): Promise<SentText | undefined> {
  if (prepared.bound.values.length > 0 || prepared.checked.kind !== 'select' || !Number.isSafeInteger(rowLimit)) {
    return undefined;
  }
  const body = prepared.bound.text.slice(prepared.checked.start, prepared.checked.end);
  const opening = 'COPY (SELECT * FROM (\n';
  const wrapped = `${opening}${body}\n) AS porthole_rows LIMIT ${rowLimit}) TO STDOUT`;
  await loadSqlParser();
  let statements: Array<{ stmt?: unknown }>;
  try {
    statements = parseSync(wrapped).stmts ?? [];
  } catch {
    return undefined; // not a query a subquery can hold: the cursor runs it as sent
  }
  const copy = (
    statements[0]?.stmt as
      | {
          CopyStmt?: {
            query?: { SelectStmt?: { fromClause?: Array<Record<string, unknown>>; limitCount?: unknown } };
            filename?: string;
            is_from?: boolean;
            is_program?: boolean;
            options?: unknown[];
          };
        }
      | undefined
  )?.CopyStmt;
  const select = copy?.query?.SelectStmt;
  const ok =
    statements.length === 1 &&
    copy !== undefined &&
    select?.fromClause?.length === 1 &&
    select.fromClause[0]!.RangeSubselect !== undefined &&
    select.limitCount !== undefined &&
    !copy.filename &&
    !copy.is_from &&
    !copy.is_program &&
    !copy.options?.length;
  if (!ok) return undefined;
  return {
    text: prepared.tag + wrapped,
    prefixLength: prepared.tag.length + opening.length,
    bodyStart: prepared.checked.start,
  };
}

/** Maps PostgreSQL's error position (1-based, in characters of the sent text) into the user's SQL. */
export function positionInOriginal(
  prepared: PreparedStatement,
  sent: SentText,
  pgPosition: string | undefined,
): SqlPosition | undefined {
  const position = Number(pgPosition);
  if (!Number.isInteger(position) || position < 1) return undefined;
  const inSent = codePointToUtf16(sent.text, position - 1);
  if (inSent < sent.prefixLength) return undefined;
  const inBound = inSent - sent.prefixLength + sent.bodyStart;
  if (inBound > prepared.bound.text.length) return undefined;
  return positionAt(prepared.original, prepared.bound.offsets.toOriginal(inBound));
}
