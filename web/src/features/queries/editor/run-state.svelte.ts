// One query run as the page sees it: elapsed time while it runs, Cancel (the server stops the backend),
// the result (rows kept in $state.raw: 100k rows must not become 100k proxies), the engine's error with
// its PostgreSQL message, hint and position, and the plan for Explain.
import { api, ApiError } from '../../../lib/api';
import type { ResultColumn, ResultRow, RunResult } from '../../../lib/grid/result';
import type { Person } from '../../../lib/people';
import { streamRun } from './run-stream';

/** What the server runs: free SQL on a data source, or a saved query's stored SQL. */
export type RunRequest = (
  { dataSource: string; sql: string; params: Record<string, string> } | { queryId: string; params: Record<string, string> }
) & {
  /** The zone relative times in the params (today-29d) resolve in. */
  timeZone?: string;
};

/** A finished run handed from one page to the next (a new query's page to its permalink after Save). */
export interface HandedRun {
  request: RunRequest;
  result: RunResult;
}

export interface RunFailure {
  code: string;
  message: string;
  hint?: string;
  detail?: string;
  /** Offset in the SQL that was sent (add the run target's offset for the editor). */
  position?: { offset: number; line: number; column: number };
}

export class RunState {
  status = $state<'idle' | 'running' | 'done' | 'failed' | 'cancelled'>('idle');
  result = $state.raw<RunResult | undefined>();
  failure = $state.raw<RunFailure | undefined>();
  plan = $state<string | undefined>();
  elapsedMs = $state(0);
  /** Rows of the current run received so far, while it is still running (undefined otherwise). */
  arrivedRows = $state<number | undefined>();
  /** Runs finished (done, failed or cancelled): lets tests and screen readers tell one run from the next. */
  finished = $state(0);
  /** Who cancelled the last run when it was not this user (an admin): the server names them. */
  cancelledBy = $state.raw<Person | undefined>();
  private runId: string | undefined;
  private controller: AbortController | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  async run(request: RunRequest, options: { explain?: boolean } = {}): Promise<RunResult | undefined> {
    this.stop();
    const runId = crypto.randomUUID();
    const controller = new AbortController();
    this.runId = runId;
    this.controller = controller;
    this.status = 'running';
    this.failure = undefined;
    this.cancelledBy = undefined;
    if (options.explain) this.plan = undefined;
    const started = performance.now();
    this.elapsedMs = 0;
    this.timer = setInterval(() => (this.elapsedMs = performance.now() - started), 100);
    try {
      if (options.explain && 'sql' in request) {
        const explained = await api<RunResult>('/api/runs', {
          method: 'POST',
          body: { ...request, sql: `EXPLAIN ${request.sql}`, runId },
          signal: controller.signal,
        });
        if (this.runId !== runId) return undefined;
        this.plan = explained.rows.map((row) => String(row[0] ?? '')).join('\n');
        this.status = 'done';
        return explained;
      }
      // Rows are shown as they arrive; each batch makes a new array so the grid sees the change.
      this.plan = undefined;
      let columns: ResultColumn[] = [];
      let rows: ResultRow[] = [];
      const partial = () => ({
        id: runId,
        columns,
        rows,
        rowCount: rows.length,
        truncated: false,
        durationMs: performance.now() - started,
      });
      const totals = await streamRun({ ...request, runId }, controller.signal, {
        columns: (arrived) => {
          columns = arrived;
          if (this.runId === runId) this.result = partial();
        },
        rows: (arrived) => {
          rows = rows.concat(arrived);
          if (this.runId !== runId) return;
          this.result = partial();
          this.arrivedRows = rows.length;
        },
      });
      if (this.runId !== runId) return undefined;
      const result: RunResult = { ...totals, columns, rows };
      this.result = result;
      this.status = 'done';
      return result;
    } catch (error) {
      if (this.runId !== runId) return undefined;
      if (controller.signal.aborted || (error instanceof ApiError && error.code === 'query_cancelled')) {
        this.cancelledBy = error instanceof ApiError ? personOf(error.details.cancelledBy) : undefined;
        this.status = 'cancelled';
        return undefined;
      }
      this.failure = failureOf(error);
      this.status = 'failed';
      return undefined;
    } finally {
      if (this.runId === runId) {
        this.arrivedRows = undefined;
        clearInterval(this.timer);
        this.elapsedMs = performance.now() - started;
        this.finished++;
      }
    }
  }

  /** Shows a run that finished on another page, without running anything. */
  adopt(handed: HandedRun): void {
    this.stop();
    this.result = handed.result;
    this.failure = undefined;
    this.elapsedMs = handed.result.durationMs;
    this.status = 'done';
  }

  /** Asks the server to cancel (it cancels the backend), then stops waiting for the answer. */
  async cancel(): Promise<void> {
    const runId = this.runId;
    if (this.status !== 'running' || !runId) return;
    try {
      await api(`/api/runs/${runId}/cancel`, { method: 'POST' });
    } catch {
      // Already finished, or never started on the server: aborting below is all that is left to do.
    }
    if (this.runId === runId) this.controller?.abort();
  }

  /** Shows a result fetched elsewhere (a background run's) as this run's. */
  show(result: RunResult): void {
    this.stop();
    this.result = result;
    this.failure = undefined;
    this.plan = undefined;
    this.elapsedMs = result.durationMs;
    this.status = 'done';
    this.finished++;
  }

  private stop(): void {
    clearInterval(this.timer);
    this.controller?.abort();
    this.runId = undefined;
  }

  dispose(): void {
    this.stop();
  }
}

function personOf(value: unknown): Person | undefined {
  const person = value as Partial<Person> | null | undefined;
  if (!person || typeof person.id !== 'string') return undefined;
  return { id: person.id, name: person.name ?? null, email: person.email ?? null };
}

function failureOf(error: unknown): RunFailure {
  if (!(error instanceof ApiError)) return { code: 'network', message: error instanceof Error ? error.message : String(error) };
  const { hint, detail, position } = error.details as { hint?: unknown; detail?: unknown; position?: RunFailure['position'] };
  return {
    code: error.code,
    message: error.message,
    ...(typeof hint === 'string' ? { hint } : {}),
    ...(typeof detail === 'string' ? { detail } : {}),
    ...(position && typeof position.offset === 'number' ? { position } : {}),
  };
}

export { downloadCsv } from '../../../lib/download-csv';
