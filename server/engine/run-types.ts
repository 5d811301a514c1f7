// The engine's public shapes: what a caller asks to run (free SQL or a resolved saved query), with which
// context and options, and what comes back.
import type { AuditEvent } from '../audit/service.js';
import type { SessionUser } from '../auth/guards.js';
import type { DataSource, SourceTier } from '../data-sources/registry.js';
import type { CsvStream } from './csv-stream.js';
import type { ExecutionLimits } from './executor.js';
import type { StatementKind } from './guard.js';
import type { PreparedStatement } from './statement.js';
import type { ColumnInfo } from './values.js';
import type { VariableDeclaration } from './variables.js';

/** A saved query resolved on the server (issue #5): its stored SQL is what runs, never the browser's. */
export interface SavedQueryForRun {
  id: string;
  version: number;
  dataSource: string;
  sql: string;
  variables: VariableDeclaration[];
  name?: string;
  /** The result cache's max age for this query's runs (0 = off); absent: no caching. */
  cacheMaxAgeSeconds?: number;
}

export type RunTarget = { kind: 'sql'; dataSource: string; sql: string } | { kind: 'saved'; query: SavedQueryForRun };

export interface RunContext {
  user: SessionUser;
  clientIp?: string;
  /** Aborted when the client goes away: the run is cancelled. */
  signal?: AbortSignal;
  /** The IANA zone relative times (`today-29d`) resolve in: the browser's, a check's, or UTC when absent. */
  timeZone?: string;
  /** A time limit other than the source's (background runs: BACKGROUND_QUERY_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Called once every check has passed and the run waits for its turn (background runs answer 202 here). */
  onPlanned?: () => void;
  /** Called once run.started is recorded and the query is about to reach the database. */
  onStarted?: () => void;
  /**
   * The dashboard whose card this run draws (with a saved query only): checked before the run (the user
   * may read the dashboard, the query is one of its cards), recorded on every audit event of the run and
   * on a cache hit, and its cache max age applies instead of the query's.
   */
  dashboardId?: string;
  /**
   * For the result cache (server/results/run-cache.ts): a refresh that skips the lookup, or `off` for
   * runs that keep their own result (background runs store theirs by run id).
   */
  cache?: { refresh?: boolean; off?: boolean };
}

/** A dashboard card's run, as the dashboards feature resolved it for the user (see RunService.useDashboardCards). */
export interface DashboardCardForRun {
  dashboardId: string;
  /** The dashboard's result-cache max age (0 = off). */
  cacheMaxAgeSeconds: number;
}

export interface RunOptions {
  /** Runs one user may have executing at once, across all tasks. */
  perUserRuns: number;
  /** Requests that may wait for a free connection per source (beyond them: 429). */
  maxWaitingPerSource: number;
  maxWaitMs: number;
  /** Row data per JSON result, and per row in any result. */
  maxResultBytes: number;
  maxRowBytes: number;
  /** How long a run's closing audit event is retried while the tools DB is unavailable. */
  closeRetryMs: number;
}

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  perUserRuns: 5,
  maxWaitingPerSource: 200,
  maxWaitMs: 10_000,
  maxResultBytes: 64 * 1024 * 1024,
  maxRowBytes: 32 * 1024 * 1024,
  closeRetryMs: 30_000,
};

export interface JsonRun {
  id: string;
  statement: StatementKind;
  columns: ColumnInfo[];
  /** JSON arrays, comma-separated, UTF-8: kept as bytes from the database (or the cache) to the socket. */
  rowsJson: Buffer;
  rowCount: number;
  truncated: boolean;
  truncatedBy?: string;
  durationMs: number;
  /** The access tier it ran under. */
  tier: string;
  /** Answered from the result cache: the run that computed it, and when. */
  cached?: { runId: string; computedAt: Date };
}

export interface CsvRun {
  id: string;
  stream: CsvStream;
  filename: string;
  tier: string;
  /** Ran under a tier that reads sensitive columns: the download is marked as such. */
  sensitive: boolean;
}

/** Everything decided before a run starts. */
export interface Plan {
  id: string;
  format: 'json' | 'csv';
  source: DataSource;
  /**
   * The access tier the run connects as (issue #13), chosen from the user's groups. Anything keyed on
   * what a run may read (a result cache) includes `tier.name`.
   */
  tier: SourceTier;
  prepared: PreparedStatement;
  limits: ExecutionLimits;
  timeoutMs: number;
  auditBase: Omit<AuditEvent, 'action'>;
  sql: string;
  /** The values bound: absolute, with a saved query's defaults filled in (variable-values.ts). */
  params: Record<string, unknown>;
  /** How they came about, for run.started: relative times given and the zone they resolved in, defaults used. */
  resolution: { relative: Record<string, unknown>; defaulted: string[]; timeZone: string };
  saved?: SavedQueryForRun;
  /** The dashboard card this run draws, checked in plan(). */
  card?: DashboardCardForRun;
  /** Details every audit event of this run carries besides its own (the dashboard it was for). */
  auditDetails: Record<string, unknown>;
}

/** What an execution reports for the audit log. */
export interface WorkResult {
  rowCount: number;
  truncated: boolean;
  truncatedBy?: string;
  bytes?: number;
}
