// Runs a check: once per (check, slot), through the engine as the check's owner with the owner's current
// role, groups and access (never a viewer's), under the check's own time limit. Then the state change,
// the `check.run` audit event and, on a change of state or a due reminder (unless muted), one delivery
// job per recipient on the scheduler's queue.
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { CheckState, Database } from '../../schema/database.js';
import type { AuditLog } from '../audit/service.js';
import type { SessionUser } from '../auth/guards.js';
import type { RunService } from '../engine/runs.service.js';
import { AppError } from '../lib/errors.js';
import type { QueriesService } from '../queries/service.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { evaluate } from './conditions.js';
import { findDestinations } from './destinations.repository.js';
import { ALERT_ROWS, type AlertMessage } from './messages.js';
import type { DeliveryJob } from './notifier.js';
import {
  conditionOf,
  findCheck,
  findUser,
  finishCheckRun,
  recordCheckState,
  startCheckRun,
  type CheckRow,
} from './repository.js';

export const DELIVER_QUEUE = 'checks.deliver';

export interface RunnerDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  runs: RunService;
  queries: QueriesService;
  scheduler: Scheduler;
  log: FastifyBaseLogger;
  publicUrl: string;
  includeRows: boolean;
  now?: () => Date;
}

export interface CheckRunOutcome {
  checkRunId: string;
  state: Exclude<CheckState, 'pending' | 'disabled'>;
  previousState: CheckState;
  reason: string;
  notified: boolean;
}

type Trigger = { kind: 'schedule'; slot: Date } | { kind: 'manual'; by: SessionUser };

interface Evaluated {
  state: CheckRunOutcome['state'];
  reason: string;
  rowCount: number | null;
  engineRunId: string | null;
  columns: string[] | null;
  rows: unknown[][] | null;
  version: number | null;
}

export class CheckRunner {
  constructor(private readonly deps: RunnerDeps) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Undefined when the check is gone, disabled (scheduled runs) or this slot already ran. */
  async run(checkId: string, trigger: Trigger): Promise<CheckRunOutcome | undefined> {
    const { db } = this.deps;
    const check = await findCheck(db, checkId);
    if (!check || (trigger.kind === 'schedule' && !check.enabled)) return undefined;
    const checkRunId = await startCheckRun(db, {
      checkId,
      slot: trigger.kind === 'schedule' ? trigger.slot : null,
      trigger: trigger.kind,
      triggeredBy: trigger.kind === 'manual' ? trigger.by.id : null,
    });
    if (!checkRunId) return undefined;

    const evaluated = await this.evaluate(check);
    const at = this.now();
    const previousState = check.state;
    const changed = evaluated.state !== previousState;
    const muted = check.muted_until !== null && check.muted_until > at;
    const reminderDue =
      !changed &&
      evaluated.state !== 'ok' &&
      check.remind_every_hours !== null &&
      (check.last_notified_at === null ||
        at.getTime() - check.last_notified_at.getTime() >= check.remind_every_hours * 3_600_000);
    // The first run of a new check notifies only when it is not ok.
    const worthTelling = (changed && !(previousState === 'pending' && evaluated.state === 'ok')) || reminderDue;
    const notify = worthTelling && !muted;

    await recordCheckState(db, checkId, { state: evaluated.state, reason: evaluated.reason, changed, notified: notify, at });
    await finishCheckRun(db, checkRunId, {
      state: evaluated.state,
      previousState,
      reason: evaluated.reason,
      rowCount: evaluated.rowCount,
      engineRunId: evaluated.engineRunId,
      notified: notify,
    });
    await this.deps.audit.record({
      action: 'check.run',
      actor: { id: check.owner_id, email: check.owner_email },
      queryId: check.query_id,
      queryVersion: evaluated.version ?? undefined,
      outcome: evaluated.state === 'ok' || evaluated.state === 'failing' ? 'ok' : 'error',
      rowCount: evaluated.rowCount ?? undefined,
      details: {
        checkId,
        checkRunId,
        trigger: trigger.kind,
        ...(trigger.kind === 'manual' ? { triggeredBy: trigger.by.id } : { slot: trigger.slot.toISOString() }),
        state: evaluated.state,
        previousState,
        notified: notify,
        muted,
        reminder: reminderDue,
        engineRunId: evaluated.engineRunId,
      },
    });
    if (notify) await this.enqueueDeliveries(check, checkRunId, evaluated, previousState, reminderDue, at);
    return { checkRunId, state: evaluated.state, previousState, reason: evaluated.reason, notified: notify };
  }

  private async evaluate(check: CheckRow): Promise<Evaluated> {
    const failed = (state: 'error' | 'timed_out', reason: string, version: number | null = null): Evaluated => ({
      state,
      reason,
      rowCount: null,
      engineRunId: null,
      columns: null,
      rows: null,
      version,
    });
    const ownerRow = await findUser(this.deps.db, check.owner_id);
    if (!ownerRow) return failed('error', "The check's owner no longer exists.");
    const owner: SessionUser = {
      id: ownerRow.id,
      email: ownerRow.email,
      name: ownerRow.name,
      role: ownerRow.role,
      groups: ownerRow.groups,
    };
    let target;
    try {
      target = await this.deps.runs.resolveSaved(owner, check.query_id, check.query_version ?? undefined);
    } catch (error) {
      const message = error instanceof AppError ? error.message : String(error);
      return failed('error', `The check's owner (${owner.email ?? owner.id}) can no longer run this query: ${message}`);
    }
    const version = target.kind === 'saved' ? target.query.version : null;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, check.timeout_ms);
    try {
      // Never from the result cache: a check judges the data as it is now, not a result computed for a
      // dashboard minutes ago (background runs do the same). Relative times in its params (today-1d)
      // follow the check's own zone (its cron's, else UTC).
      const result = await this.deps.runs.runJson(
        { user: owner, signal: controller.signal, timeZone: check.time_zone, cache: { off: true } },
        target,
        check.params,
      );
      const rows = JSON.parse(`[${result.rowsJson.toString('utf8')}]`) as unknown[][];
      const verdict = evaluate(conditionOf(check), { columns: result.columns, rows });
      return {
        state: verdict.state,
        reason: verdict.reason,
        rowCount: result.rowCount,
        engineRunId: result.id,
        columns: result.columns.map((c) => c.name),
        rows: rows.slice(0, ALERT_ROWS),
        version,
      };
    } catch (error) {
      const appError = error instanceof AppError ? error : undefined;
      if (timedOut || appError?.code === 'query_timeout') {
        return failed(
          'timed_out',
          `The query did not finish within ${timedOut ? `the check's limit of ${check.timeout_ms / 1000} s` : "the data source's time limit"}.`,
          version,
        );
      }
      if (!appError || appError.statusCode >= 500) this.deps.log.warn({ err: error, checkId: check.id }, 'check run failed');
      return failed('error', `The query failed: ${appError?.message ?? 'internal error'}`, version);
    } finally {
      clearTimeout(timer);
    }
  }

  private async enqueueDeliveries(
    check: CheckRow,
    checkRunId: string,
    evaluated: Evaluated,
    previousState: CheckState,
    reminder: boolean,
    at: Date,
  ): Promise<void> {
    const { publicUrl, includeRows } = this.deps;
    const queryUrl = new URL(`/queries/${check.query_id}`, publicUrl);
    for (const [name, value] of Object.entries(check.params))
      queryUrl.searchParams.set(name, typeof value === 'string' ? value : JSON.stringify(value));
    const message: AlertMessage = {
      check: { id: check.id, name: check.name },
      state: evaluated.state,
      previousState: previousState === 'pending' ? null : previousState,
      reason: evaluated.reason,
      reminder,
      query: { id: check.query_id, name: check.query_name, version: evaluated.version },
      params: check.params,
      columns: includeRows ? evaluated.columns : null,
      rows: includeRows ? evaluated.rows : null,
      rowCount: evaluated.rowCount,
      runAt: at.toISOString(),
      url: queryUrl.toString(),
      checkUrl: new URL(`/checks/${check.id}`, publicUrl).toString(),
    };
    const jobs: DeliveryJob[] = check.emails.map((email) => ({ checkRunId, channel: 'email', target: email, message }));
    for (const destination of await findDestinations(this.deps.db, check.destination_ids)) {
      jobs.push({ checkRunId, channel: destination.kind, target: destination.name, destinationId: destination.id, message });
    }
    for (const job of jobs) await this.deps.scheduler.send(DELIVER_QUEUE, job);
  }
}
