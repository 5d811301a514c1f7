// Checks: the rules.
// - Editors create checks on saved queries they can read (and run); the creator owns the check.
// - Everyone sees checks on queries they can read; owners and admins change, run or delete them.
// - A check runs as its owner (runner.ts); a change of owner is not offered, so nobody can make a check
//   run in someone else's name.
// - Every change is audited; the schedule is validated and the next run computed on save.
import type { Kysely } from 'kysely';
import type { CheckState, Database } from '../../schema/database.js';
import type { AuditLog } from '../audit/service.js';
import { hasRole, type SessionUser } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import type { QueriesService } from '../queries/service.js';
import type { Condition } from './conditions.js';
import { findDestinations } from './destinations.repository.js';
import {
  claimDueChecks,
  conditionOf,
  deleteCheck,
  deliveriesOf,
  findCheck,
  hasOutboxDelivery,
  insertCheck,
  listCheckRuns,
  listChecks,
  scheduleOf,
  setNextRun,
  updateCheck,
  type CheckFields,
  type CheckRow,
} from './repository.js';
import type { CheckRunner, CheckRunOutcome } from './runner.js';
import { describeSchedule, nextRuns, validateSchedule, type Schedule } from './schedule.js';
import type { CheckRunView, CheckView, CreateCheckBody, SchedulePreview, UpdateCheckBody } from './schemas.js';

export const RUN_QUEUE = 'checks.run';
const DEFAULT_TIMEOUT_MS = 60_000;

const actorOf = (user: SessionUser) => ({ id: user.id, email: user.email });
const iso = (date: Date | null) => (date ? date.toISOString() : null);

function notFound(id: string): AppError {
  return new AppError(404, 'not_found', `There is no check ${id}, or you cannot see its query.`);
}

export class ChecksService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditLog,
    private readonly queries: QueriesService,
    private readonly runner: CheckRunner,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private canSee(user: SessionUser, check: CheckRow): boolean {
    return (
      hasRole(user, 'admin') ||
      check.owner_id === user.id ||
      check.query_visibility === 'team' ||
      check.query_owner_id === user.id
    );
  }

  private canEdit(user: SessionUser, check: CheckRow): boolean {
    return hasRole(user, 'admin') || (check.owner_id === user.id && hasRole(user, 'editor'));
  }

  private async visible(user: SessionUser, id: string): Promise<CheckRow> {
    const check = await findCheck(this.db, id);
    if (!check || !this.canSee(user, check)) throw notFound(id);
    return check;
  }

  private async editable(user: SessionUser, id: string): Promise<CheckRow> {
    const check = await this.visible(user, id);
    if (!this.canEdit(user, check))
      throw new AppError(403, 'forbidden', 'Only the owner of this check or an admin can change it.');
    return check;
  }

  view(user: SessionUser, check: CheckRow): CheckView {
    const schedule = scheduleOf(check);
    return {
      id: check.id,
      name: check.name,
      query: { id: check.query_id, name: check.query_name },
      queryVersion: check.query_version,
      params: check.params,
      schedule,
      scheduleText: describeSchedule(schedule),
      nextRuns: check.enabled ? nextRuns(schedule, this.now(), 5).map((d) => d.toISOString()) : [],
      condition: conditionOf(check),
      emails: check.emails,
      destinationIds: check.destination_ids,
      enabled: check.enabled,
      owner: { id: check.owner_id, email: check.owner_email, name: check.owner_name },
      state: check.state,
      stateReason: check.state_reason,
      stateChangedAt: iso(check.state_changed_at),
      remindEveryHours: check.remind_every_hours,
      mutedUntil: iso(check.muted_until),
      timeoutMs: check.timeout_ms,
      lastRunAt: iso(check.last_run_at),
      nextRunAt: iso(check.next_run_at),
      version: check.version,
      canEdit: this.canEdit(user, check),
    };
  }

  async list(user: SessionUser, filter: { failing: boolean; mine: boolean; queryId?: string }): Promise<CheckView[]> {
    const rows = await listChecks(this.db, { viewerId: user.id, admin: hasRole(user, 'admin'), ...filter });
    return rows.map((row) => this.view(user, row));
  }

  /** The form's preview: the schedule in words and its next five runs, or the 400 a save would give. */
  previewSchedule(schedule: Schedule): SchedulePreview {
    validateSchedule(schedule);
    return {
      scheduleText: describeSchedule(schedule),
      nextRuns: nextRuns(schedule, this.now(), 5).map((d) => d.toISOString()),
    };
  }

  async get(user: SessionUser, id: string): Promise<CheckView> {
    return this.view(user, await this.visible(user, id));
  }

  private async checkFields(user: SessionUser, queryId: string, fields: CheckFields): Promise<CheckFields> {
    validateSchedule(fields.schedule);
    checkCondition(fields.condition);
    // The author must be able to run the query (and the pinned version) now: a 404 or 403 otherwise.
    await this.queries.forRun(user, queryId, fields.queryVersion ?? undefined);
    const found = await findDestinations(this.db, fields.destinationIds);
    if (found.length !== new Set(fields.destinationIds).size)
      throw new AppError(400, 'invalid_request', 'A destination in destinationIds does not exist.');
    return { ...fields, nextRunAt: fields.enabled ? nextRuns(fields.schedule, this.now(), 1)[0]! : null };
  }

  async create(user: SessionUser, body: CreateCheckBody): Promise<CheckView> {
    if (!hasRole(user, 'editor')) throw new AppError(403, 'forbidden', 'Creating checks needs the editor role.');
    const fields = await this.checkFields(user, body.queryId, {
      name: body.name.trim(),
      queryVersion: body.queryVersion ?? null,
      params: body.params ?? {},
      schedule: body.schedule as Schedule,
      condition: body.condition as Condition,
      emails: body.emails ?? [],
      destinationIds: body.destinationIds ?? [],
      enabled: body.enabled ?? true,
      remindEveryHours: body.remindEveryHours ?? null,
      mutedUntil: body.mutedUntil ? new Date(body.mutedUntil) : null,
      timeoutMs: body.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      nextRunAt: null,
    });
    const id = await this.db.transaction().execute(async (trx) => {
      const id = await insertCheck(trx, body.queryId, user.id, fields);
      await this.audit.record({
        action: 'check.created',
        actor: actorOf(user),
        queryId: body.queryId,
        details: { checkId: id, name: fields.name },
      });
      return id;
    });
    return this.get(user, id);
  }

  async update(user: SessionUser, id: string, body: UpdateCheckBody): Promise<CheckView> {
    const check = await this.editable(user, id);
    const current: CheckFields = {
      name: check.name,
      queryVersion: check.query_version,
      params: check.params,
      schedule: scheduleOf(check),
      condition: conditionOf(check),
      emails: check.emails,
      destinationIds: check.destination_ids,
      enabled: check.enabled,
      remindEveryHours: check.remind_every_hours,
      mutedUntil: check.muted_until,
      timeoutMs: check.timeout_ms,
      nextRunAt: check.next_run_at,
    };
    const merged: CheckFields = {
      ...current,
      ...Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)),
      mutedUntil: body.mutedUntil === undefined ? current.mutedUntil : body.mutedUntil ? new Date(body.mutedUntil) : null,
    } as CheckFields;
    const fields = await this.checkFields(user, check.query_id, merged);
    const scheduleChanged = JSON.stringify(current.schedule) !== JSON.stringify(fields.schedule);
    if (!scheduleChanged && current.enabled && fields.enabled) fields.nextRunAt = current.nextRunAt;
    const state: CheckState | undefined =
      !fields.enabled && check.state !== 'disabled'
        ? 'disabled'
        : fields.enabled && check.state === 'disabled'
          ? 'pending'
          : undefined;
    await this.db.transaction().execute(async (trx) => {
      await updateCheck(trx, id, fields, state);
      await this.audit.record({
        action: 'check.updated',
        actor: actorOf(user),
        queryId: check.query_id,
        details: { checkId: id, changed: Object.keys(body).filter((k) => body[k as keyof UpdateCheckBody] !== undefined) },
      });
    });
    return this.get(user, id);
  }

  async remove(user: SessionUser, id: string): Promise<void> {
    const check = await this.editable(user, id);
    await this.db.transaction().execute(async (trx) => {
      await deleteCheck(trx, id);
      await this.audit.record({
        action: 'check.deleted',
        actor: actorOf(user),
        queryId: check.query_id,
        details: { checkId: id, name: check.name },
      });
    });
  }

  /** Run now: owners and admins; it still runs with the owner's access, never the caller's. */
  async runNow(user: SessionUser, id: string): Promise<CheckRunOutcome> {
    await this.editable(user, id);
    const outcome = await this.runner.run(id, { kind: 'manual', by: user });
    if (!outcome) throw notFound(id);
    return outcome;
  }

  async runs(user: SessionUser, id: string): Promise<CheckRunView[]> {
    await this.visible(user, id);
    const runs = await listCheckRuns(this.db, id);
    const deliveries = await deliveriesOf(
      this.db,
      runs.map((r) => r.id),
    );
    return runs.map((run) => ({
      id: run.id,
      trigger: run.trigger,
      slot: iso(run.slot),
      startedAt: run.started_at.toISOString(),
      finishedAt: iso(run.finished_at),
      state: run.state,
      previousState: run.previous_state,
      reason: run.reason,
      rowCount: run.row_count,
      notified: run.notified,
      deliveries: deliveries
        .filter((d) => d.check_run_id === run.id)
        .map((d) => ({
          channel: d.channel,
          target: d.target,
          attempt: d.attempt,
          status: d.status,
          detail: d.detail,
          responseStatus: d.response_status,
          at: d.created_at.toISOString(),
          ...(d.detail?.startsWith('outbox:') ? { outboxFile: d.detail.slice('outbox:'.length) } : {}),
        })),
    }));
  }

  /**
   * Demo mode's emails: the outbox file a delivery of this check wrote. 404 unless the caller can see the
   * check and the file is one of its own deliveries (so a name cannot reach another check's mail).
   */
  async outboxFile(user: SessionUser, id: string, file: string): Promise<string> {
    await this.visible(user, id);
    if (!(await hasOutboxDelivery(this.db, id, file)))
      throw new AppError(404, 'not_found', `Check ${id} sent no email kept as ${file}.`);
    return file;
  }

  /**
   * The once-a-minute dispatch (a recurring job of the scheduler, so one task runs each minute): claims
   * due checks, moves each to its next run time and queues one run job per (check, slot).
   */
  async dispatchDue(now: Date, send: (checkId: string, slot: Date) => Promise<void>): Promise<number> {
    const claimed = await this.db.transaction().execute(async (trx) => {
      const due = await claimDueChecks(trx, now);
      for (const check of due) await setNextRun(trx, check.id, nextRuns(scheduleOf(check), now, 1)[0]!);
      return due;
    });
    for (const check of claimed) await send(check.id, check.next_run_at!);
    return claimed.length;
  }
}

function checkCondition(condition: Condition): void {
  if (condition.kind === 'anomaly' && condition.timeColumn === condition.column) {
    throw new AppError(400, 'invalid_request', 'The anomaly condition needs different value and time columns.');
  }
}
