// What a failed run answers: PostgreSQL's message and position for mistakes in the query (4xx, never
// logged as a server error), a stable code for timeouts, cancels and denials, a 503 when the data source
// cannot be reached or is going away (a restart: the run may be tried again), and a 502 when it failed
// otherwise.
import pg from 'pg';
import { dataSourceUnavailable, isUnavailable } from '../db/unavailable.js';
import { AppError } from '../lib/errors.js';
import { capText } from './error-text.js';
import type { Canceller } from './live-run.js';
import type { SqlPosition } from './sql-position.js';

export type CancelReason = 'user' | 'admin' | 'remote' | 'disconnect' | 'timeout' | 'shutdown';

export interface RunErrorContext {
  /** The data source the run was on, named by data_source_unavailable. */
  sourceId: string;
  cancelReason?: CancelReason;
  /** Set when someone other than the run's owner (an admin) cancelled it: the owner is told who. */
  cancelledBy?: Canceller;
  timeoutMs: number;
  position: (pgPosition: string | undefined) => SqlPosition | undefined;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

export function runError(error: unknown, context: RunErrorContext): AppError {
  if (error instanceof AppError) return error;
  const reason = context.cancelReason;
  if (
    reason === 'timeout' ||
    (error instanceof pg.DatabaseError && error.code === '57014' && /statement timeout/.test(error.message))
  ) {
    return new AppError(
      400,
      'query_timeout',
      `The query was stopped after ${seconds(context.timeoutMs)}, the time limit for this data source.`,
    );
  }
  if (reason === 'shutdown')
    return new AppError(503, 'server_stopping', 'Porthole is restarting; run the query again in a moment.');
  if (context.cancelledBy && (reason === 'admin' || reason === 'remote')) {
    const { id, email, name } = context.cancelledBy;
    const who = name && email ? `${name} (${email})` : (name ?? email ?? `user ${id}`);
    return new AppError(409, 'query_cancelled', `The query was cancelled by ${who}, an admin.`, {
      cancelledBy: { id, email, name },
    });
  }
  if (reason) {
    const by = reason === 'admin' ? ' by an admin' : reason === 'remote' ? ' from another window' : '';
    return new AppError(409, 'query_cancelled', `The query was cancelled${by}.`);
  }
  // After the cancels and timeouts above: a cut socket is how some of them end.
  if (isUnavailable(error)) return dataSourceUnavailable(context.sourceId, error);
  if (!(error instanceof pg.DatabaseError)) {
    return new AppError(502, 'data_source_error', 'The connection to the data source failed while the query ran.', {
      cause: capText(error instanceof Error ? error.message : String(error)),
    });
  }

  const code = error.code ?? '';
  const details: Record<string, unknown> = { pgCode: code };
  const position = context.position(error.position);
  if (position) details.position = position;
  // PostgreSQL copies offending values into these (THREATS.md 49): a few KB reach the client and the audit log.
  if (error.detail) details.detail = capText(error.detail);
  if (error.hint) details.hint = capText(error.hint);
  const message = capText(error.message.charAt(0).toUpperCase() + error.message.slice(1));

  if (code === '57014') return new AppError(409, 'query_cancelled', 'The query was cancelled.');
  if (code === '55P03')
    return new AppError(400, 'lock_timeout', `${message} (a table it reads is locked by another session).`, details);
  if (code === '42601') return new AppError(400, 'syntax_error', message, details);
  if (code === '42501') return new AppError(403, 'permission_denied', message, details);
  if (code === '25006') return new AppError(403, 'read_only', `${message}: Porthole is read-only.`, details);
  if (code.startsWith('53') || code.startsWith('54')) return new AppError(400, 'resource_limit', message, details);
  if (code.startsWith('57P') || code.startsWith('XX') || code.startsWith('58')) {
    return new AppError(502, 'data_source_error', `The data source failed: ${message}`, details);
  }
  return new AppError(400, 'query_error', message, details);
}
