// Checks, their runs and delivery log in the tools DB: Kysely only, `db` (or a transaction) first.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { CheckRunsTable, ChecksTable, CheckState, Database, NotificationDeliveriesTable } from '../../schema/database.js';
import type { Condition } from './conditions.js';
import type { Schedule } from './schedule.js';

export type CheckRow = Selectable<ChecksTable> & {
  query_name: string;
  owner_email: string | null;
  owner_name: string | null;
  query_visibility: 'team' | 'private';
  query_owner_id: string;
};

export function scheduleOf(row: Pick<CheckRow, 'schedule_every' | 'schedule_cron' | 'time_zone'>): Schedule {
  return row.schedule_every ? { every: row.schedule_every } : { cron: row.schedule_cron!, timeZone: row.time_zone };
}

export const conditionOf = (row: Pick<CheckRow, 'condition'>) => row.condition as Condition;

function checksWithQuery(db: Kysely<Database>) {
  return db
    .selectFrom('checks as c')
    .innerJoin('queries as q', 'q.id', 'c.query_id')
    .innerJoin('query_versions as v', (join) =>
      join.onRef('v.query_id', '=', 'q.id').onRef('v.version', '=', 'q.current_version'),
    )
    .innerJoin('users as o', 'o.id', 'c.owner_id')
    .selectAll('c')
    .select([
      'v.name as query_name',
      'o.email as owner_email',
      'o.name as owner_name',
      'q.visibility as query_visibility',
      'q.owner_id as query_owner_id',
    ]);
}

export async function findCheck(db: Kysely<Database>, id: string): Promise<CheckRow | undefined> {
  return checksWithQuery(db).where('c.id', '=', id).executeTakeFirst() as Promise<CheckRow | undefined>;
}

export interface CheckListFilter {
  viewerId: string;
  admin: boolean;
  failing: boolean;
  mine: boolean;
  queryId?: string;
}

export async function listChecks(db: Kysely<Database>, filter: CheckListFilter): Promise<CheckRow[]> {
  let query = checksWithQuery(db).where('q.archived_at', 'is', null);
  // Everyone sees checks on queries they can read (team queries, their own); admins see all.
  if (!filter.admin) {
    query = query.where((eb) =>
      eb.or([eb('q.visibility', '=', 'team'), eb('q.owner_id', '=', filter.viewerId), eb('c.owner_id', '=', filter.viewerId)]),
    );
  }
  if (filter.failing) query = query.where('c.state', 'in', ['failing', 'error', 'timed_out']);
  if (filter.mine) query = query.where('c.owner_id', '=', filter.viewerId);
  if (filter.queryId) query = query.where('c.query_id', '=', filter.queryId);
  return query.orderBy('c.name').orderBy('c.id').limit(500).execute() as Promise<CheckRow[]>;
}

export interface CheckFields {
  name: string;
  queryVersion: number | null;
  params: Record<string, unknown>;
  schedule: Schedule;
  condition: Condition;
  emails: string[];
  destinationIds: string[];
  enabled: boolean;
  remindEveryHours: number | null;
  mutedUntil: Date | null;
  timeoutMs: number;
  nextRunAt: Date | null;
}

function columnsOf(fields: CheckFields) {
  return {
    name: fields.name,
    query_version: fields.queryVersion,
    params: JSON.stringify(fields.params),
    schedule_every: 'every' in fields.schedule ? fields.schedule.every : null,
    schedule_cron: 'cron' in fields.schedule ? fields.schedule.cron : null,
    time_zone: 'cron' in fields.schedule ? (fields.schedule.timeZone ?? 'UTC') : 'UTC',
    condition: JSON.stringify(fields.condition),
    emails: fields.emails,
    destination_ids: fields.destinationIds,
    enabled: fields.enabled,
    remind_every_hours: fields.remindEveryHours,
    muted_until: fields.mutedUntil,
    timeout_ms: fields.timeoutMs,
    next_run_at: fields.nextRunAt,
  };
}

export async function insertCheck(db: Kysely<Database>, queryId: string, ownerId: string, fields: CheckFields): Promise<string> {
  const row = await db
    .insertInto('checks')
    .values({ ...columnsOf(fields), query_id: queryId, owner_id: ownerId, state: fields.enabled ? 'pending' : 'disabled' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function updateCheck(db: Kysely<Database>, id: string, fields: CheckFields, state?: CheckState): Promise<void> {
  await db
    .updateTable('checks')
    .set({
      ...columnsOf(fields),
      ...(state ? { state, state_changed_at: new Date() } : {}),
      version: sql`version + 1`,
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

export async function deleteCheck(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('checks').where('id', '=', id).execute();
}

/** A deleted destination leaves the checks that named it (so they stay valid to edit). */
export async function removeDestinationFromChecks(db: Kysely<Database>, destinationId: string): Promise<void> {
  await db
    .updateTable('checks')
    .set({
      destination_ids: sql<string[]>`array_remove(destination_ids, ${destinationId}::bigint)`,
      version: sql`version + 1`,
      updated_at: new Date(),
    })
    .where(sql<boolean>`${destinationId}::bigint = any(destination_ids)`)
    .execute();
}

/** Due checks, locked so two dispatchers never claim the same one. */
export async function claimDueChecks(db: Kysely<Database>, now: Date, limit = 200) {
  return db
    .selectFrom('checks')
    .select(['id', 'schedule_every', 'schedule_cron', 'time_zone', 'next_run_at'])
    .where('enabled', '=', true)
    .where('next_run_at', '<=', now)
    .orderBy('next_run_at')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

export async function setNextRun(db: Kysely<Database>, id: string, next: Date): Promise<void> {
  await db.updateTable('checks').set({ next_run_at: next }).where('id', '=', id).execute();
}

/**
 * The run's row; undefined when this (check, slot) was already run (a slot runs once). A row left
 * unfinished by a task that died is taken over by the retry.
 */
export async function startCheckRun(
  db: Kysely<Database>,
  run: { checkId: string; slot: Date | null; trigger: 'schedule' | 'manual'; triggeredBy: string | null },
): Promise<string | undefined> {
  const row = await db
    .insertInto('check_runs')
    .values({ check_id: run.checkId, slot: run.slot, trigger: run.trigger, triggered_by: run.triggeredBy })
    .onConflict((oc) =>
      oc.columns(['check_id', 'slot']).doUpdateSet({ started_at: new Date() }).where('check_runs.finished_at', 'is', null),
    )
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

export async function finishCheckRun(
  db: Kysely<Database>,
  id: string,
  outcome: {
    state: CheckRunsTable['state'];
    previousState: string;
    reason: string;
    rowCount: number | null;
    engineRunId: string | null;
    notified: boolean;
  },
): Promise<void> {
  await db
    .updateTable('check_runs')
    .set({
      finished_at: new Date(),
      state: outcome.state,
      previous_state: outcome.previousState,
      reason: outcome.reason,
      row_count: outcome.rowCount,
      engine_run_id: outcome.engineRunId,
      notified: outcome.notified,
    })
    .where('id', '=', id)
    .execute();
}

export async function recordCheckState(
  db: Kysely<Database>,
  id: string,
  state: { state: CheckState; reason: string; changed: boolean; notified: boolean; at: Date },
): Promise<void> {
  await db
    .updateTable('checks')
    .set({
      state: state.state,
      state_reason: state.reason,
      last_run_at: state.at,
      ...(state.changed ? { state_changed_at: state.at } : {}),
      ...(state.notified ? { last_notified_at: state.at } : {}),
    })
    .where('id', '=', id)
    .execute();
}

export async function listCheckRuns(db: Kysely<Database>, checkId: string, limit = 50) {
  return db.selectFrom('check_runs').selectAll().where('check_id', '=', checkId).orderBy('id', 'desc').limit(limit).execute();
}

export async function deliveriesOf(
  db: Kysely<Database>,
  runIds: string[],
): Promise<Array<Selectable<NotificationDeliveriesTable>>> {
  if (runIds.length === 0) return [];
  return db.selectFrom('notification_deliveries').selectAll().where('check_run_id', 'in', runIds).orderBy('id').execute();
}

/** Whether a delivery of this check wrote this outbox file (demo mode's emails). */
export async function hasOutboxDelivery(db: Kysely<Database>, checkId: string, file: string): Promise<boolean> {
  const row = await db
    .selectFrom('notification_deliveries as d')
    .innerJoin('check_runs as r', 'r.id', 'd.check_run_id')
    .select('d.id')
    .where('r.check_id', '=', checkId)
    .where('d.detail', '=', `outbox:${file}`)
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertDelivery(
  db: Kysely<Database>,
  delivery: Omit<Selectable<NotificationDeliveriesTable>, 'id' | 'created_at'>,
): Promise<void> {
  await db.insertInto('notification_deliveries').values(delivery).execute();
}

export async function findUser(db: Kysely<Database>, id: string) {
  return db.selectFrom('users').select(['id', 'email', 'name', 'role', 'groups']).where('id', '=', id).executeTakeFirst();
}
