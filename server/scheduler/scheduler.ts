// The one scheduler (DESIGN.md "Shared pieces"): a pg-boss job queue in the tools DB's `pgboss` schema,
// started inside every server task. Features register their work here before start():
//   - defineRecurring({ name, cron, run }): a named job on a schedule. pg-boss's cron pass files each
//     occurrence under a throttle slot, so two or ten tasks run each slot once;
//   - defineQueue({ name, run }): one-off jobs (send()), retried with backoff.
// Every job carries a heartbeat, so a task that dies mid-run stops heartbeating and another task picks
// the job up as a retry. With SCHEDULER_ENABLED=false a task still registers queues and schedules and may
// send() jobs, but works none of them.
import { CronExpressionParser } from 'cron-parser';
import { PgBoss, type Clock, type JobWithMetadata } from 'pg-boss';

/** The tools-DB schema pg-boss keeps its tables in; installed by the owner role (see install.ts). */
export const SCHEDULER_SCHEMA = 'pgboss';

/** A job in hand: its data, which attempt this is, and a signal that aborts when the task stops. */
export interface JobRun<Data> {
  id: string;
  data: Data;
  /** 0 on the first attempt; a job picked up after a dead task or a failure counts up. */
  attempt: number;
  createdAt: Date;
  signal: AbortSignal;
}

export interface JobTiming {
  /** Retries after a failed or abandoned attempt (default 2). */
  retryLimit?: number;
  /** Seconds before the first retry (default 30); doubled for each later one when retryBackoff is on. */
  retryDelaySeconds?: number;
  retryBackoff?: boolean;
  /** A run may take this long before it is failed and retried (default 15 minutes). */
  expireInSeconds?: number;
  /** A task that stops heartbeating this long has its job retried elsewhere (default 30, at least 10). */
  heartbeatSeconds?: number;
}

export interface QueueSpec<Data> extends JobTiming {
  name: string;
  /** How many of this queue's jobs one task runs at a time (default 2). */
  concurrency?: number;
  run(job: JobRun<Data>): Promise<void>;
}

export interface RecurringSpec extends JobTiming {
  name: string;
  /** A five-field cron expression, e.g. `* * * * *` or `0 3 * * *`. */
  cron: string;
  /** IANA time zone the cron expression is read in (default UTC). */
  timeZone?: string;
  /** `slot` is the scheduled occurrence this run is for, whichever task runs it and however late. */
  run(slot: Date, job: JobRun<null>): Promise<void>;
}

export interface SendOptions {
  startAfter?: Date;
  /** At most one queued job per key (pg-boss singletonKey). */
  singletonKey?: string;
}

export interface SchedulerOptions {
  /** The serving role's tools-DB URL. */
  connectionString: string;
  /** False: queues and schedules are registered and send() works, but this task runs no jobs. */
  enabled: boolean;
  /** Tests pass pg-boss's TestClock to speed time; never set in production. */
  clock?: Clock;
  /** Names this task in pg-boss's instance registry. */
  instanceName?: string;
  /** Seconds between pg-boss's supervision passes, which retry jobs whose task died (default 15). */
  superviseIntervalSeconds?: number;
  /** Seconds between polls for new jobs (default 2). */
  pollingIntervalSeconds?: number;
  onError?(error: unknown): void;
  /** A job's run threw; pg-boss retries it within its retry limit, but says nothing itself. */
  onJobFailed?(name: string, error: unknown): void;
}

const DEFAULT_TIMING = {
  retryLimit: 2,
  retryDelaySeconds: 30,
  retryBackoff: true,
  expireInSeconds: 15 * 60,
  heartbeatSeconds: 30,
} satisfies Required<JobTiming>;

function queueOptions(timing: JobTiming) {
  const t = { ...DEFAULT_TIMING, ...timing };
  return {
    retryLimit: t.retryLimit,
    retryDelay: t.retryDelaySeconds,
    retryBackoff: t.retryBackoff,
    expireInSeconds: t.expireInSeconds,
    heartbeatSeconds: t.heartbeatSeconds,
  };
}

/**
 * The cron occurrence a job created at `createdAt` was sent for: the latest one at or before it.
 * pg-boss forwards an occurrence within its 60-second due window, so for schedules at most once a
 * minute the creation time falls before the next occurrence.
 */
export function occurrenceAtOrBefore(cron: string, timeZone: string, createdAt: Date): Date {
  return CronExpressionParser.parse(cron, { tz: timeZone, currentDate: new Date(createdAt.getTime() + 1) })
    .prev()
    .toDate();
}

export class Scheduler {
  private readonly boss: PgBoss;
  private readonly queues = new Map<string, QueueSpec<unknown>>();
  private readonly recurring = new Map<string, RecurringSpec>();
  private started = false;

  constructor(private readonly options: SchedulerOptions) {
    this.boss = new PgBoss({
      connectionString: options.connectionString,
      schema: SCHEDULER_SCHEMA,
      application_name: 'porthole-scheduler',
      max: 4,
      // The owner role installs and migrates the schema (install.ts); the serving role may not.
      migrate: false,
      createSchema: false,
      // REINDEX needs the owner; bloat is still reported as a warning.
      reindex: false,
      schedule: options.enabled,
      supervise: options.enabled,
      registerInstance: options.enabled,
      instanceName: options.instanceName,
      clock: options.clock,
      persistWarnings: false,
      // How soon a dead task's job is noticed (its heartbeat lapsed) and retried elsewhere.
      superviseIntervalSeconds: options.superviseIntervalSeconds ?? 15,
      monitorIntervalSeconds: options.superviseIntervalSeconds ?? 15,
    });
    this.boss.on('error', (error) => options.onError?.(error));
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  defineQueue<Data>(spec: QueueSpec<Data>): void {
    this.assertNew(spec.name);
    this.queues.set(spec.name, spec as QueueSpec<unknown>);
  }

  defineRecurring(spec: RecurringSpec): void {
    this.assertNew(spec.name);
    // Parsed now, so a bad expression fails at start-up rather than as a pg-boss warning later.
    occurrenceAtOrBefore(spec.cron, spec.timeZone ?? 'UTC', new Date());
    this.recurring.set(spec.name, spec);
  }

  async send<Data extends object>(name: string, data: Data, options: SendOptions = {}): Promise<string | null> {
    if (!this.queues.has(name)) throw new Error(`No queue named ${name} is defined`);
    return this.boss.send(name, data, { startAfter: options.startAfter, singletonKey: options.singletonKey });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.boss.start();
    for (const [name, spec] of this.queues) await this.boss.createQueue(name, queueOptions(spec));
    for (const [name, spec] of this.recurring) {
      // A recurring job is one pg-boss schedule on a queue of its own; only one run per slot at a time.
      await this.boss.createQueue(name, { ...queueOptions(spec), policy: 'singleton' });
      await this.boss.schedule(name, spec.cron, null, { tz: spec.timeZone ?? 'UTC' });
    }
    if (!this.options.enabled) return;
    const polling = { pollingIntervalSeconds: this.options.pollingIntervalSeconds ?? 2, includeMetadata: true as const };
    for (const [name, spec] of this.queues) {
      await this.boss.work<unknown>(name, { ...polling, batchSize: 1, localConcurrency: spec.concurrency ?? 2 }, async (jobs) =>
        this.reportFailure(name, () => spec.run(toRun(jobs[0] as JobWithMetadata<unknown>))),
      );
    }
    for (const [name, spec] of this.recurring) {
      await this.boss.work<null>(name, { ...polling, batchSize: 1 }, async (jobs) => {
        const job = jobs[0] as JobWithMetadata<null>;
        const slot = occurrenceAtOrBefore(spec.cron, spec.timeZone ?? 'UTC', job.createdOn);
        await this.reportFailure(name, () => spec.run(slot, toRun(job)));
      });
    }
  }

  /** Waits for jobs in hand to finish (up to timeoutMs), then closes the pool. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.boss.stop({ graceful: true, timeout: timeoutMs });
  }

  private async reportFailure(name: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      this.options.onJobFailed?.(name, error);
      throw error;
    }
  }

  private assertNew(name: string): void {
    if (this.started) throw new Error(`Define ${name} before the scheduler starts`);
    if (this.queues.has(name) || this.recurring.has(name)) throw new Error(`A job named ${name} is already defined`);
  }
}

function toRun<Data>(job: JobWithMetadata<Data>): JobRun<Data> {
  return { id: job.id, data: job.data, attempt: job.retryCount, createdAt: job.createdOn, signal: job.signal };
}
