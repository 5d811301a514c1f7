// Reviewing the audit log (admins only): filtered pages, one event in full, CSV export, verification and
// activity. Every read of the log is itself recorded.
import { integrityStatus, type IntegrityStatus } from './integrity-status.js';
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Database } from '../../schema/database.js';
import { hasRole, type SessionUser } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import { csvLine } from '../lib/csv.js';
import {
  getEvent,
  LIST_COLUMNS,
  listEvents,
  queryRunEvents,
  runsPerDay,
  userIdsByEmail,
  type AuditFilter,
} from './repository.js';
import type { AuditLog, VerifyResult } from './service.js';

export const PAGE_SIZE = 50;
const CSV_BATCH = 2000;

export interface AuditListItem {
  seq: string;
  occurredAt: string;
  actor: { id: string | null; email: string | null };
  action: string;
  dataSource: string | null;
  queryId: string | null;
  queryVersion: number | null;
  outcome: string | null;
  rowCount: string | null;
  durationMs: number | null;
  errorCode: string | null;
  sqlPreview: string | null;
  /** The access tier a run used (issue #13); null for other events. */
  tier: string | null;
  /** A CSV download under a tier that reads sensitive columns. */
  sensitive: boolean;
}

type ListRow = Awaited<ReturnType<typeof listEvents>>[number];

function toItem(row: ListRow): AuditListItem {
  return {
    seq: row.seq,
    occurredAt: row.occurred_at.toISOString(),
    actor: { id: row.actor_user_id, email: row.actor_email },
    action: row.action,
    dataSource: row.data_source,
    queryId: row.query_id,
    queryVersion: row.query_version,
    outcome: row.outcome,
    rowCount: row.row_count,
    durationMs: row.duration_ms,
    errorCode: row.error_code,
    sqlPreview: row.sql_preview,
    tier: row.tier,
    sensitive: row.sensitive,
  };
}

function tierOf(details: Record<string, unknown>): { tier: string | null; sensitive: boolean } {
  return { tier: typeof details.tier === 'string' ? details.tier : null, sensitive: details.sensitive === true };
}

const CSV_HEADER = [...LIST_COLUMNS, 'sql'];
const FORMULA_SAFE = { neutraliseFormulas: true } as const;

export class AuditReviewService {
  constructor(private readonly deps: { db: Kysely<Database>; audit: AuditLog }) {}

  private requireAdmin(user: SessionUser): void {
    if (!hasRole(user, 'admin')) throw new AppError(403, 'forbidden', 'Only admins may review the audit log.');
  }

  /** `actor` is a user id, or an email turned into that person's user ids. */
  async resolveActor(filter: AuditFilter, actor: string | undefined): Promise<AuditFilter> {
    if (actor === undefined) return filter;
    if (/^\d+$/.test(actor)) return { ...filter, actorId: actor };
    return { ...filter, actorIds: await userIdsByEmail(this.deps.db, actor) };
  }

  async list(
    user: SessionUser,
    filter: AuditFilter,
    clientIp: string,
  ): Promise<{ events: AuditListItem[]; nextCursor: string | null }> {
    this.requireAdmin(user);
    const rows = await listEvents(this.deps.db, filter, PAGE_SIZE + 1);
    const page = rows.slice(0, PAGE_SIZE).map(toItem);
    // A search is recorded once, not once per page.
    if (filter.beforeSeq === undefined) {
      await this.deps.audit.record({
        action: 'audit.read',
        actor: user,
        outcome: 'ok',
        clientIp,
        details: { filter: describe(filter) },
      });
    }
    return { events: page, nextCursor: rows.length > PAGE_SIZE ? page.at(-1)!.seq : null };
  }

  async get(user: SessionUser, seq: string, clientIp: string) {
    this.requireAdmin(user);
    const row = await getEvent(this.deps.db, seq);
    if (!row) throw new AppError(404, 'not_found', `There is no audit event ${seq}.`);
    await this.deps.audit.record({ action: 'audit.read', actor: user, outcome: 'ok', clientIp, details: { seq } });
    return {
      ...toItem({ ...row, sql_preview: null, ...tierOf(JSON.parse(row.details) as Record<string, unknown>) }),
      sql: row.sql,
      params: row.params === null ? null : (JSON.parse(row.params) as unknown),
      details: JSON.parse(row.details) as unknown,
      clientIp: row.client_ip,
      hash: row.hash.toString('hex'),
      prevHash: row.prev_hash.toString('hex'),
    };
  }

  /** Streams every matching event as CSV, newest first, in keyset batches so memory stays flat. */
  async exportCsv(user: SessionUser, filter: AuditFilter, clientIp: string): Promise<Readable> {
    this.requireAdmin(user);
    await this.deps.audit.record({
      action: 'audit.exported',
      actor: user,
      outcome: 'ok',
      clientIp,
      details: { filter: describe(filter) },
    });
    const db = this.deps.db;
    async function* lines() {
      // Formulas are neutralised: actors control SQL, emails and error codes, and an admin opens this in
      // a spreadsheet (THREATS.md 51). Results CSV (engine) stays byte-faithful instead.
      yield csvLine(CSV_HEADER, FORMULA_SAFE);
      let beforeSeq = filter.beforeSeq;
      for (;;) {
        const rows = await listEvents(db, { ...filter, beforeSeq }, CSV_BATCH, { fullSql: true });
        yield rows.map((row) => csvLine([...LIST_COLUMNS.map((column) => row[column]), row.sql_preview], FORMULA_SAFE)).join('');
        if (rows.length < CSV_BATCH) return;
        beforeSeq = rows.at(-1)!.seq;
      }
    }
    return Readable.from(lines());
  }

  async integrity(user: SessionUser): Promise<IntegrityStatus> {
    this.requireAdmin(user);
    return integrityStatus(this.deps.db);
  }

  async verify(user: SessionUser, full: boolean): Promise<VerifyResult> {
    this.requireAdmin(user);
    return this.deps.audit.verify({ full });
  }

  /** run.started events without a closing event (their runs are not live): the lifecycle's promise, checked. */
  async unclosedRuns(user: SessionUser) {
    this.requireAdmin(user);
    const { count, runs } = await this.deps.audit.unclosedRuns({ limit: 20 });
    return {
      count,
      runs: runs.map((run) => ({
        seq: run.seq,
        runId: run.runId,
        occurredAt: run.occurredAt.toISOString(),
        actor: { id: run.actorUserId, email: run.actorEmail },
        dataSource: run.dataSource,
      })),
    };
  }

  async activity(user: SessionUser, days: number, actor?: string) {
    this.requireAdmin(user);
    const since = new Date(Date.now() - days * 86_400_000);
    const rows = await runsPerDay(this.deps.db, since, await this.resolveActor({}, actor));
    return rows.map((row) => ({
      day: row.day,
      actor: { id: row.actor_user_id, email: row.actor_email },
      runs: Number(row.runs),
    }));
  }
}

const RUN_OUTCOME_OF: Record<string, string> = {
  'run.finished': 'ok',
  'run.failed': 'error',
  'run.abandoned': 'error',
  'run.cache_hit': 'cached',
};

/**
 * A saved query's run history, for anyone who may read the query: `canRead` is the saved-queries
 * service's own check (it answers 404 for a query the user may not see), run before anything is read.
 */
export async function queryRunHistory(
  db: Kysely<Database>,
  canRead: () => Promise<unknown>,
  queryId: string,
  beforeSeq?: string,
) {
  await canRead();
  const rows = await queryRunEvents(db, queryId, PAGE_SIZE + 1, beforeSeq);
  const page = rows.slice(0, PAGE_SIZE).map((row) => ({
    seq: row.seq,
    occurredAt: row.occurred_at.toISOString(),
    actor: { id: row.actor_user_id, email: row.actor_email },
    outcome: RUN_OUTCOME_OF[row.action] ?? 'cancelled',
    version: row.query_version,
    rowCount: row.row_count,
    durationMs: row.duration_ms,
    errorCode: row.error_code,
    params: row.params === null ? null : (JSON.parse(row.params) as unknown),
    // Cancelled by someone other than who ran it: an admin, named to everyone who sees the history.
    cancelledBy:
      row.action === 'run.cancelled' && row.cancelled_by && row.cancelled_by !== row.actor_user_id
        ? { id: row.cancelled_by, email: row.cancelled_by_email }
        : null,
  }));
  return { runs: page, nextCursor: rows.length > PAGE_SIZE ? page.at(-1)!.seq : null };
}

/** The filter as plain JSON for the audit record. */
function describe(filter: AuditFilter): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(filter)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => [key, value instanceof Date ? value.toISOString() : value]),
  );
}
