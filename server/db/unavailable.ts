// "The database cannot be reached, or is going away" (a restart, a failover, a cut network), told apart
// from everything else in one place. Such failures answer 503 with Retry-After and a code naming which
// database: tools_database_unavailable (Porthole's own) or data_source_unavailable (with the source's id).
// Anything else is the query's fault (4xx) or ours (500).
import type pg from 'pg';
import { AppError } from '../lib/errors.js';

/** Seconds a client is asked to wait before trying again (Retry-After): about a PostgreSQL restart. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** Socket errors of a connection that could not be made or was lost. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs: 57P01 admin_shutdown (a fast shutdown terminated the session), 57P02 crash_shutdown, 57P03
 * cannot_connect_now (starting up, shutting down, in recovery). Class 08 (connection exceptions) is matched
 * by its prefix.
 */
const SERVER_GOING_AWAY = new Set(['57P01', '57P02', '57P03']);

/** What pg and pg-pool say when a connection ended or could not be had, without a code. */
const DRIVER_MESSAGES = [
  /^Connection terminated/,
  /connection error and is not queryable/,
  /^Client was closed and is not queryable/,
  /^timeout exceeded when trying to connect/,
  /^Connection ended unexpectedly/,
];

/** Does this error (or one it wraps) mean the database is unreachable or shutting down? */
export function isUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false;
  const { code, message, errors, cause } = error as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || SERVER_GOING_AWAY.has(code) || /^08[0-9A-Z]{3}$/.test(code))) {
    return true;
  }
  if (typeof message === 'string' && DRIVER_MESSAGES.some((pattern) => pattern.test(message))) return true;
  // A connect() that tried several addresses fails with an AggregateError of each attempt.
  if (Array.isArray(errors) && errors.length > 0 && errors.every((inner) => isUnavailable(inner, depth + 1))) return true;
  return cause !== undefined && isUnavailable(cause, depth + 1);
}

/** The SQLSTATE of a PostgreSQL error, for the answer's `pgCode` (never the envelope's code). */
export function pgCodeOf(error: unknown): string | undefined {
  // PostgreSQL's errors carry a severity beside the SQLSTATE; Node's socket codes (EPIPE) have none.
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && typeof severity === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function withCause(error: AppError, cause: unknown): AppError {
  // Kept for the log (the error handler logs it); the answer carries only code, message and details.
  Object.defineProperty(error, 'cause', { value: cause, enumerable: false });
  return error;
}

export function toolsDatabaseUnavailable(cause: unknown): AppError {
  const pgCode = pgCodeOf(cause);
  return withCause(
    new AppError(
      503,
      'tools_database_unavailable',
      "Porthole's own database is unavailable (restarting or unreachable); try again in a moment.",
      { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS, ...(pgCode ? { pgCode } : {}) },
    ),
    cause,
  );
}

export function dataSourceUnavailable(sourceId: string, cause: unknown): AppError {
  const pgCode = pgCodeOf(cause);
  return withCause(
    new AppError(
      503,
      'data_source_unavailable',
      `The data source "${sourceId}" is unavailable (restarting or unreachable); try again in a moment.`,
      { dataSource: sourceId, retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS, ...(pgCode ? { pgCode } : {}) },
    ),
    cause,
  );
}

export function isToolsDatabaseUnavailable(error: unknown): boolean {
  return error instanceof AppError && error.code === 'tools_database_unavailable';
}

/**
 * Keeps a client that loses its server from crashing the process. The pool listens for errors only on
 * idle clients: a socket that dies while a client is checked out emits 'error' on the client, which
 * unheard is an uncaught exception. The query under way rejects with the same error, and the pool drops
 * the client when it is released, so the listener has nothing else to do.
 */
export function survivesLostConnections(pool: pg.Pool): pg.Pool {
  // An idle client that loses its server (restart, failover) emits on the pool; the pool drops it.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
