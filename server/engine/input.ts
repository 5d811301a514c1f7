// Checks on the SQL text itself before anything parses it (THREATS.md 23): a size limit, no NUL
// characters (PostgreSQL rejects them anyway, with a less helpful message) and well-formed Unicode.
import { AppError } from '../lib/errors.js';

export const MAX_SQL_LENGTH = 100_000;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** False for strings holding a lone UTF-16 surrogate (which JSON escapes can produce and UTF-8 cannot hold). */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

export function checkSqlText(sql: string): void {
  if (sql.length > MAX_SQL_LENGTH) {
    throw new AppError(
      413,
      'sql_too_large',
      `The SQL is ${sql.length.toLocaleString('en-US')} characters long; the limit is ${MAX_SQL_LENGTH.toLocaleString('en-US')}.`,
    );
  }
  if (sql.includes('\0')) throw new AppError(400, 'invalid_sql_text', 'The SQL contains a NUL character (\\0); remove it.');
  if (!isWellFormedText(sql)) {
    throw new AppError(400, 'invalid_encoding', 'The SQL is not valid Unicode text (it holds a lone surrogate).');
  }
  if (sql.trim() === '') throw new AppError(400, 'empty_sql', 'There is no SQL to run.');
}
