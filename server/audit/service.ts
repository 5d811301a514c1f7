// The audit log: record() for every feature, verify() to prove the chain intact (DESIGN.md "Audit log").
import type { Kysely } from 'kysely';
import type { Database, NewAuditEvent } from '../../schema/database.js';
import { auditActor, type AuditActor } from '../auth/principal.js';
import type { SessionUser } from '../auth/guards.js';
import { chainHash, GENESIS_HASH } from './chain.js';
import {
  insertAuditEvent,
  insertRunClosing,
  insertVerification,
  latestRetentionCheckpoint,
  latestVerification,
  readChainBatch,
  readChainHead,
  readEventHash,
  unclosedRuns,
  type ChainPoint,
} from './repository.js';

export type AuditAction =
  | 'system.started'
  | 'system.audit_broken'
  | 'auth.login'
  | 'auth.login_failed'
  | 'auth.logout'
  | 'auth.role_changed'
  | 'run.started'
  | 'run.finished'
  | 'run.failed'
  | 'run.cancelled'
  /** Closed by the stale-run purge: the task running it stopped before it could record the end. */
  | 'run.abandoned'
  | 'run.csv_downloaded'
  | 'run.cache_hit'
  | 'run.result_read'
  | 'query.created'
  | 'query.updated'
  | 'query.archived'
  | 'query.restored'
  | 'query.forked'
  | 'query.visibility_changed'
  | 'query.purged'
  | 'query.access_denied'
  | 'dashboard.created'
  | 'dashboard.updated'
  | 'dashboard.restored'
  | 'dashboard.forked'
  | 'dashboard.archived'
  | 'dashboard.unarchived'
  | 'dashboard.settings_changed'
  | 'dashboard.purged'
  | 'audit.read'
  | 'audit.exported'
  | 'check.created'
  | 'check.updated'
  | 'check.deleted'
  | 'check.run'
  | 'destination.created'
  | 'destination.updated'
  | 'destination.deleted'
  | 'token.created'
  | 'token.revoked'
  | 'token.used'
  | 'run.queued'
  | 'run.result_read';

export type AuditOutcome = 'ok' | 'error' | 'denied' | 'cancelled';

export interface AuditEvent {
  action: AuditAction;
  /** The user, or the principal (a token's id and name are then recorded beside the user, in details.token). */
  actor?: AuditActor | SessionUser | null;
  dataSource?: string;
  queryId?: string;
  queryVersion?: number;
  outcome?: AuditOutcome;
  rowCount?: number;
  durationMs?: number;
  sql?: string;
  params?: unknown;
  errorCode?: string;
  clientIp?: string;
  details?: Record<string, unknown>;
}

export interface VerifyResult {
  ok: boolean;
  /** Events whose hashes this run recomputed. */
  events: number;
  headSeq: string;
  /** The chain was checked from the event after this seq (0: the beginning). */
  fromSeq: string;
  full: boolean;
  firstBadSeq?: string;
  problem?: string;
  verifiedAt?: Date;
}

export interface VerifyOptions {
  /** Recompute every event, not just those after the last successful verification. */
  full?: boolean;
  batchSize?: number;
}

export class AuditLog {
  constructor(private readonly db: Kysely<Database>) {}

  /** run.started events without a closing event, their runs no longer live (see unclosedRuns). */
  unclosedRuns(options: Parameters<typeof unclosedRuns>[1]): ReturnType<typeof unclosedRuns> {
    return unclosedRuns(this.db, options);
  }

  /** Appends one event in its own short transaction and returns its seq. */
  record(event: AuditEvent): Promise<string> {
    return insertAuditEvent(this.db, auditRow(event));
  }

  /**
   * Closes a run (run.finished / failed / cancelled / abandoned): written only if the run's run.started is
   * in the log and nothing closed it yet, so every run.started gets exactly one closing event whoever
   * writes it and however often it is retried. Returns the seq, or undefined when there was nothing to close.
   */
  recordRunClosing(runId: string, event: AuditEvent): Promise<string | undefined> {
    return insertRunClosing(this.db, runId, auditRow(event));
  }

  /** Where checking starts: after the retention checkpoint, or (incremental) after the last verification. */
  private async startingPoint(full: boolean): Promise<ChainPoint | { problem: string; seq: string }> {
    const start = (await latestRetentionCheckpoint(this.db)) ?? { seq: '0', hash: GENESIS_HASH };
    if (full) return start;
    const last = await latestVerification(this.db, start.seq);
    if (!last || last.seq === start.seq) return start;
    const stored = await readEventHash(this.db, last.seq);
    if (!stored?.equals(last.hash)) {
      return { seq: last.seq, problem: `event ${last.seq} no longer matches the last verification: it was changed or removed` };
    }
    return { seq: last.seq, hash: last.hash };
  }

  /**
   * Recomputes the hashes from the stored columns and checks that seq has no gaps, each prev_hash is the
   * hash before it and the head row matches the last event. Names the first event that fails. A
   * successful run is recorded so the next incremental run starts after it.
   */
  async verify(options: VerifyOptions = {}): Promise<VerifyResult> {
    const full = options.full ?? false;
    const batchSize = options.batchSize ?? 5000;
    const start = await this.startingPoint(full);
    let events = 0;
    let lastSeq = start.seq;
    const fail = (seq: string, problem: string): VerifyResult => ({
      ok: false,
      events,
      headSeq: lastSeq,
      fromSeq: start.seq,
      full,
      firstBadSeq: seq,
      problem,
    });
    if ('problem' in start) return fail(start.seq, start.problem);

    // The head is read first and the walk stops there: events appended while we walk (every page view
    // of the audit log appends one) belong to the next verification, not to a false "events removed".
    const head = await readChainHead(this.db);
    let expectedSeq = BigInt(start.seq) + 1n;
    let prevHash: Buffer = start.hash;
    for (;;) {
      const rows = await readChainBatch(this.db, lastSeq, batchSize, head.seq);
      for (const row of rows) {
        if (BigInt(row.seq) !== expectedSeq)
          return fail(String(expectedSeq), `event ${expectedSeq} is missing (next is ${row.seq})`);
        if (!row.prev_hash.equals(prevHash))
          return fail(row.seq, `event ${row.seq} does not point at the hash of the event before it`);
        const hash = chainHash(prevHash, row);
        if (!row.hash.equals(hash))
          return fail(row.seq, `event ${row.seq} was changed after it was written (its hash does not match its content)`);
        prevHash = hash;
        lastSeq = row.seq;
        expectedSeq++;
        events++;
      }
      if (rows.length < batchSize) break;
    }

    if (head.seq !== lastSeq) {
      return fail(
        String(expectedSeq),
        `the chain head says event ${head.seq} but the log ends at ${lastSeq}: events were removed`,
      );
    }
    if (!head.hash.equals(prevHash)) return fail(lastSeq, `the chain head's hash does not match event ${lastSeq}`);
    const verifiedAt =
      lastSeq === '0'
        ? new Date()
        : await insertVerification(this.db, { seq: lastSeq, hash: prevHash, eventsChecked: events, full });
    return { ok: true, events, headSeq: lastSeq, fromSeq: start.seq, full, verifiedAt };
  }
}

/** The row of an event: the actor's token (if any) goes into details. */
function auditRow(event: AuditEvent): NewAuditEvent {
  const actor = event.actor ? auditActor(event.actor) : undefined;
  const details = actor?.token ? { ...event.details, token: actor.token } : (event.details ?? {});
  return {
    action: event.action,
    actor_user_id: event.actor?.id ?? null,
    actor_email: event.actor?.email ?? null,
    data_source: event.dataSource ?? null,
    query_id: event.queryId ?? null,
    query_version: event.queryVersion ?? null,
    outcome: event.outcome ?? null,
    row_count: event.rowCount === undefined ? null : String(event.rowCount),
    duration_ms: event.durationMs === undefined ? null : Math.round(event.durationMs),
    sql: event.sql ?? null,
    params: event.params === undefined ? null : JSON.stringify(event.params),
    error_code: event.errorCode ?? null,
    client_ip: event.clientIp ?? null,
    details: JSON.stringify(details),
  };
}
