// Kysely access to the audit tables. seq, prev_hash, hash and occurred_at are set by the chain trigger.
import { sql, type Kysely } from 'kysely';
import type { Database, NewAuditEvent } from '../../schema/database.js';
import { CHAIN_COLUMNS_SQL, type ChainRow } from './chain.js';

export async function insertAuditEvent(db: Kysely<Database>, event: NewAuditEvent): Promise<string> {
  const row = await db.insertInto('audit_events').values(event).returning('seq').executeTakeFirstOrThrow();
  return row.seq;
}

/**
 * Inserts a run's closing event only if its run.started is in the log and no closing event is yet, under
 * a lock on the run id: whoever closes it (the run, its retry once the tools DB is back, the stale-run
 * purge) closes it once. A retried insert whose first attempt committed unseen finds it and stops. Returns
 * the new event's seq, or undefined when there was nothing to close.
 */
export async function insertRunClosing(db: Kysely<Database>, runId: string, event: NewAuditEvent): Promise<string | undefined> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`porthole.run-closing:${runId}`}, 0))`.execute(trx);
    const { rows } = await sql<{ started: boolean; closed: boolean }>`
      select exists (select 1 from audit_events where details ? 'runId' and details->>'runId' = ${runId}
                       and action = 'run.started') as started,
             exists (select 1 from audit_events where details ? 'runId' and details->>'runId' = ${runId}
                       and action in (${sql.join(RUN_CLOSINGS.map((action) => sql.lit(action)))})) as closed`.execute(trx);
    if (!rows[0]?.started || rows[0].closed) return undefined;
    return insertAuditEvent(trx, event);
  });
}

// Qualified e.seq: a bare `seq` in ORDER BY would bind to the text alias and sort 10 before 2.
export async function readChainBatch(
  db: Kysely<Database>,
  afterSeq: string,
  limit: number,
  throughSeq?: string,
): Promise<ChainRow[]> {
  const result = await sql<ChainRow>`
    select ${sql.raw(CHAIN_COLUMNS_SQL)} from audit_events e
    where e.seq > ${afterSeq} ${throughSeq === undefined ? sql`` : sql`and e.seq <= ${throughSeq}`}
    order by e.seq limit ${limit}`.execute(db);
  return result.rows;
}

export async function readChainHead(db: Kysely<Database>): Promise<{ seq: string; hash: Buffer }> {
  return db.selectFrom('audit_chain_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
}

export async function readEventHash(db: Kysely<Database>, seq: string): Promise<Buffer | undefined> {
  const row = await db.selectFrom('audit_events').select('hash').where('seq', '=', seq).executeTakeFirst();
  return row?.hash;
}

export interface ChainPoint {
  seq: string;
  hash: Buffer;
}

export async function latestRetentionCheckpoint(db: Kysely<Database>): Promise<ChainPoint | undefined> {
  return db.selectFrom('audit_retention_checkpoints').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
}

export async function latestVerification(
  db: Kysely<Database>,
  atLeastSeq: string,
): Promise<(ChainPoint & { verified_at: Date }) | undefined> {
  return db
    .selectFrom('audit_verifications')
    .select(['seq', 'hash', 'verified_at'])
    .where('seq', '>=', atLeastSeq)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function insertVerification(
  db: Kysely<Database>,
  row: ChainPoint & { eventsChecked: number; full: boolean },
): Promise<Date> {
  const saved = await db
    .insertInto('audit_verifications')
    .values({ seq: row.seq, hash: row.hash, events_checked: String(row.eventsChecked), full_check: row.full })
    .returning('verified_at')
    .executeTakeFirstOrThrow();
  return saved.verified_at;
}

export interface AuditFilter {
  actorId?: string;
  /** Events by any of these users (an email can belong to accounts at more than one provider). */
  actorIds?: string[];
  action?: string;
  dataSource?: string;
  queryId?: string;
  queryVersion?: number;
  outcome?: string;
  from?: Date;
  to?: Date;
  /** Text that must appear in the SQL (case-insensitive). */
  sqlContains?: string;
  /** Runs under this access tier (issue #13; recorded in the event's details). */
  tier?: string;
  /** Keyset cursor: only events older than this seq. */
  beforeSeq?: string;
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (ch) => `\\${ch}`);

/** Newest first. Keyset pagination on seq, so pages never overlap or skip while events are added. */
export function filteredEvents(db: Kysely<Database>, filter: AuditFilter) {
  let query = db.selectFrom('audit_events');
  if (filter.actorId !== undefined) query = query.where('actor_user_id', '=', filter.actorId);
  if (filter.actorIds !== undefined)
    query = filter.actorIds.length ? query.where('actor_user_id', 'in', filter.actorIds) : query.where(sql<boolean>`false`);
  if (filter.action !== undefined) query = query.where('action', '=', filter.action);
  if (filter.dataSource !== undefined) query = query.where('data_source', '=', filter.dataSource);
  if (filter.queryId !== undefined) query = query.where('query_id', '=', filter.queryId);
  if (filter.queryVersion !== undefined) query = query.where('query_version', '=', filter.queryVersion);
  if (filter.outcome !== undefined) query = query.where('outcome', '=', filter.outcome);
  if (filter.sqlContains) query = query.where('sql', 'ilike', `%${escapeLike(filter.sqlContains)}%`);
  if (filter.tier !== undefined) query = query.where(sql<string>`details->>'tier'`, '=', filter.tier);
  if (filter.beforeSeq !== undefined) query = query.where('seq', '<', filter.beforeSeq);
  // occurred_at strictly increases with seq (the chain trigger sees to it), so the first event at or after
  // `from` and the last before `to`, found through the occurred_at index, bound seq exactly and the
  // primary key or a (column, seq) index can serve "newest first". No such event: nothing matches.
  if (filter.from !== undefined) {
    const from = filter.from;
    query = query
      .where('occurred_at', '>=', from)
      .where('seq', '>=', (eb) =>
        eb.selectFrom('audit_events').select('seq').where('occurred_at', '>=', from).orderBy('occurred_at', 'asc').limit(1),
      );
  }
  if (filter.to !== undefined) {
    const to = filter.to;
    query = query
      .where('occurred_at', '<', to)
      .where('seq', '<=', (eb) =>
        eb.selectFrom('audit_events').select('seq').where('occurred_at', '<', to).orderBy('occurred_at', 'desc').limit(1),
      );
  }
  return query.orderBy('seq', 'desc');
}

export const LIST_COLUMNS = [
  'seq',
  'occurred_at',
  'actor_user_id',
  'actor_email',
  'action',
  'data_source',
  'query_id',
  'query_version',
  'outcome',
  'row_count',
  'duration_ms',
  'error_code',
] as const;

/** A page of events; the SQL cut to a preview unless the whole text is wanted (CSV export). */
export async function listEvents(db: Kysely<Database>, filter: AuditFilter, limit: number, options: { fullSql?: boolean } = {}) {
  return filteredEvents(db, filter)
    .select([
      ...LIST_COLUMNS,
      options.fullSql ? sql<string | null>`sql`.as('sql_preview') : sql<string | null>`left(sql, 300)`.as('sql_preview'),
      sql<string | null>`details->>'tier'`.as('tier'),
      sql<boolean>`coalesce((details->>'sensitive')::boolean, false)`.as('sensitive'),
    ])
    .limit(limit)
    .execute();
}

export async function getEvent(db: Kysely<Database>, seq: string) {
  return db
    .selectFrom('audit_events')
    .select([
      ...LIST_COLUMNS,
      'sql',
      sql<string | null>`params::text`.as('params'),
      sql<string>`details::text`.as('details'),
      'client_ip',
      'hash',
      'prev_hash',
    ])
    .where('seq', '=', seq)
    .executeTakeFirst();
}

/** The events that close a run.started: every started run gets exactly one of them. */
export const RUN_CLOSINGS = ['run.finished', 'run.failed', 'run.cancelled', 'run.abandoned'] as const;
// A cache hit is a run whose rows came from the result store: who saw what stays complete.
const RUN_OUTCOMES = [...RUN_CLOSINGS, 'run.cache_hit'];

export interface UnclosedRun {
  seq: string;
  runId: string;
  occurredAt: Date;
  actorUserId: string | null;
  actorEmail: string | null;
  dataSource: string | null;
  queryId: string | null;
  queryVersion: number | null;
}

/**
 * run.started events without a closing event whose run is not live (no unexpired active_runs row), newest
 * first. `olderThan` leaves out runs that ended a moment ago and are recording their end right now;
 * `runIds` narrows to these runs.
 */
export async function unclosedRuns(
  db: Kysely<Database>,
  options: { olderThan?: Date; runIds?: string[]; limit: number },
): Promise<{ count: number; runs: UnclosedRun[] }> {
  if (options.runIds && !options.runIds.length) return { count: 0, runs: [] };
  const unclosed = sql`
    from audit_events s
    where s.action = 'run.started' and s.details ? 'runId'
      ${options.olderThan ? sql`and s.occurred_at < ${options.olderThan}` : sql``}
      ${options.runIds ? sql`and s.details->>'runId' = any(${options.runIds}::text[])` : sql``}
      and not exists (select 1 from audit_events c
                      where c.details ? 'runId' and c.details->>'runId' = s.details->>'runId'
                        and c.action in (${sql.join(RUN_CLOSINGS.map((action) => sql.lit(action)))}))
      and not exists (select 1 from active_runs a where a.id::text = s.details->>'runId' and a.expires_at > now())`;
  const [count, rows] = await Promise.all([
    sql<{ count: string }>`select count(*) as count ${unclosed}`.execute(db),
    sql<{
      seq: string;
      run_id: string;
      occurred_at: Date;
      actor_user_id: string | null;
      actor_email: string | null;
      data_source: string | null;
      query_id: string | null;
      query_version: number | null;
    }>`select s.seq, s.details->>'runId' as run_id, s.occurred_at, s.actor_user_id, s.actor_email, s.data_source,
              s.query_id, s.query_version
       ${unclosed} order by s.seq desc limit ${options.limit}`.execute(db),
  ]);
  return {
    count: Number(count.rows[0]?.count ?? 0),
    runs: rows.rows.map((row) => ({
      seq: row.seq,
      runId: row.run_id,
      occurredAt: row.occurred_at,
      actorUserId: row.actor_user_id,
      actorEmail: row.actor_email,
      dataSource: row.data_source,
      queryId: row.query_id,
      queryVersion: row.query_version,
    })),
  };
}

/** How a saved query's runs ended, newest first. */
export async function queryRunEvents(db: Kysely<Database>, queryId: string, limit: number, beforeSeq?: string) {
  let query = db
    .selectFrom('audit_events')
    .select([
      'seq',
      'occurred_at',
      'actor_user_id',
      'actor_email',
      'action',
      'query_version',
      'outcome',
      'row_count',
      'duration_ms',
      'error_code',
      sql<string | null>`params::text`.as('params'),
      sql<string | null>`details->>'cancelledBy'`.as('cancelled_by'),
      sql<string | null>`details->>'cancelledByEmail'`.as('cancelled_by_email'),
    ])
    .where('query_id', '=', queryId)
    .where('action', 'in', RUN_OUTCOMES);
  if (beforeSeq !== undefined) query = query.where('seq', '<', beforeSeq);
  return query.orderBy('seq', 'desc').limit(limit).execute();
}

export async function userIdsByEmail(db: Kysely<Database>, email: string): Promise<string[]> {
  const rows = await db
    .selectFrom('users')
    .select('id')
    .where(sql`lower(email)`, '=', email.toLowerCase())
    .execute();
  return rows.map((row) => row.id);
}

export async function runsPerDay(db: Kysely<Database>, since: Date, actors: Pick<AuditFilter, 'actorId' | 'actorIds'> = {}) {
  let query = db
    .selectFrom('audit_events')
    .select([
      sql<string>`to_char(date_trunc('day', occurred_at at time zone 'UTC'), 'YYYY-MM-DD')`.as('day'),
      'actor_user_id',
      'actor_email',
      sql<string>`count(*)`.as('runs'),
    ])
    .where('action', '=', 'run.started')
    .where('occurred_at', '>=', since);
  if (actors.actorId !== undefined) query = query.where('actor_user_id', '=', actors.actorId);
  if (actors.actorIds !== undefined)
    query = actors.actorIds.length ? query.where('actor_user_id', 'in', actors.actorIds) : query.where(sql<boolean>`false`);
  return query.groupBy(['day', 'actor_user_id', 'actor_email']).orderBy('day').execute();
}
