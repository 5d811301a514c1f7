// The Kysely view of the tools database. Each later migration adds its tables here.
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<unknown, string | undefined, string>;

export interface UsersTable {
  id: Generated<string>;
  issuer: string;
  subject: string;
  email: string | null;
  name: string | null;
  groups: ColumnType<string[], string[] | undefined, string[]>;
  role: 'viewer' | 'editor' | 'admin';
  created_at: Generated<Date>;
  last_login_at: Timestamp | null;
}

export interface SessionsTable {
  sid: string;
  user_id: string | null;
  data: Json;
  created_at: Generated<Date>;
  /** Idle expiry: pushed forward on use. */
  expires_at: Timestamp;
  /** Absolute expiry: fixed at creation. */
  absolute_expires_at: Timestamp;
}

/** Content columns are written by the app; seq, prev_hash, hash and occurred_at by the chain trigger. */
export interface AuditEventsTable {
  seq: ColumnType<string, never, never>;
  occurred_at: ColumnType<Date, never, never>;
  actor_user_id: string | null;
  actor_email: string | null;
  action: string;
  data_source: string | null;
  query_id: string | null;
  query_version: number | null;
  outcome: string | null;
  row_count: string | null;
  duration_ms: number | null;
  sql: string | null;
  params: Json | null;
  error_code: string | null;
  client_ip: string | null;
  details: Json;
  prev_hash: ColumnType<Buffer, never, never>;
  hash: ColumnType<Buffer, never, never>;
}

export interface AuditChainHeadTable {
  id: number;
  seq: string;
  hash: Buffer;
  /** The newest event's time: each new event is later (migration 2026-11-23T2000_audit_review). */
  occurred_at: Date | null;
}

/** A run executing now on some Porthole task (see migration 2026-11-23T1800_engine). */
export interface ActiveRunsTable {
  id: string;
  user_id: string;
  user_email: string | null;
  data_source: string;
  query_id: string | null;
  query_version: number | null;
  sql: string;
  format: 'json' | 'csv';
  task_id: string;
  backend_host: string | null;
  backend_port: number | null;
  backend_pid: number | null;
  backend_key: number | null;
  started_at: Generated<Date>;
  expires_at: Timestamp;
  cancel_requested_at: Timestamp | null;
  cancelled_by: string | null;
}

/** A successful verification: incremental verify resumes after it. Append-only. */
export interface AuditVerificationsTable {
  id: Generated<string>;
  seq: string;
  hash: Buffer;
  events_checked: string;
  full_check: boolean;
  verified_at: Generated<Date>;
}

/** The chain head as anchored by the scheduler, and where the anchor went (tools DB or an S3 object). */
export interface AuditAnchorsTable {
  id: Generated<string>;
  seq: string;
  hash: Buffer;
  destination: string;
  anchored_at: Generated<Date>;
}

/** Where the chain starts after retention removed older events (written by the owner only). */
export interface AuditRetentionCheckpointsTable {
  id: Generated<string>;
  seq: string;
  hash: Buffer;
  events_removed: string;
  export_file: string;
  cutoff: Date;
  created_at: Generated<Date>;
}

/** A saved query as a whole; its content lives in query_versions (migration 2026-11-23T1900_queries). */
export interface QueriesTable {
  id: Generated<string>;
  owner_id: string;
  visibility: 'team' | 'private';
  locked: Generated<boolean>;
  current_version: number;
  forked_from_query_id: string | null;
  forked_from_version: number | null;
  archived_at: Timestamp | null;
  archived_by: string | null;
  created_at: Generated<Date>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  search_document: ColumnType<string, never, string>;
  search_text: ColumnType<string, never, string>;
  /** Name, tags, description and owner only: what typo-tolerant (trigram) matching looks at. */
  search_words: ColumnType<string, never, string>;
  /** The result cache's max age for runs of this query; 0 = off (migration 2026-11-30T1253_dashboards). */
  cache_max_age_seconds: Generated<number>;
}

/** One save of a query; rows never change (a trigger refuses UPDATE). */
export interface QueryVersionsTable {
  query_id: string;
  version: number;
  author_id: string;
  created_at: Generated<Date>;
  name: string;
  description: string;
  tags: ColumnType<string[], string[], never>;
  data_source: string;
  sql: string;
  variables: ColumnType<unknown, string, never>;
  chart: ColumnType<unknown, string | null, never>;
  restored_from: number | null;
}

/** When each user last opened each query, for the "Recently viewed" filter. */
export interface QueryViewsTable {
  user_id: string;
  query_id: string;
  viewed_at: Timestamp;
}

export interface AlertDestinationsTable {
  id: Generated<string>;
  kind: 'slack' | 'webhook';
  name: string;
  url: string;
  secret: string | null;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export type CheckState = 'pending' | 'ok' | 'failing' | 'error' | 'timed_out' | 'disabled';

export interface ChecksTable {
  id: Generated<string>;
  name: string;
  query_id: string;
  query_version: number | null;
  params: ColumnType<Record<string, unknown>, string, string>;
  schedule_every: '5m' | '15m' | '1h' | '1d' | null;
  schedule_cron: string | null;
  time_zone: string;
  condition: ColumnType<unknown, string, string>;
  emails: string[];
  destination_ids: string[];
  enabled: boolean;
  owner_id: string;
  state: Generated<CheckState>;
  state_reason: string | null;
  state_changed_at: Timestamp | null;
  remind_every_hours: number | null;
  muted_until: Timestamp | null;
  timeout_ms: number;
  last_run_at: Timestamp | null;
  last_notified_at: Timestamp | null;
  next_run_at: Timestamp | null;
  version: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface CheckRunsTable {
  id: Generated<string>;
  check_id: string;
  slot: Timestamp | null;
  trigger: 'schedule' | 'manual';
  triggered_by: string | null;
  started_at: Generated<Date>;
  finished_at: Timestamp | null;
  state: 'ok' | 'failing' | 'error' | 'timed_out' | null;
  previous_state: string | null;
  reason: string | null;
  row_count: number | null;
  engine_run_id: string | null;
  notified: Generated<boolean>;
}

export interface NotificationDeliveriesTable {
  id: Generated<string>;
  check_run_id: string;
  channel: 'email' | 'slack' | 'webhook';
  target: string;
  destination_id: string | null;
  attempt: number;
  status: 'sent' | 'failed' | 'refused';
  detail: string | null;
  response_status: number | null;
  created_at: Generated<Date>;
}

/** Personal access tokens and CSV links (migration 2026-11-30T1237_api_tokens); secrets only as hashes. */
export interface ApiTokensTable {
  id: Generated<string>;
  user_id: string;
  kind: 'personal' | 'csv_link';
  name: string;
  secret_hash: Buffer;
  secret_hint: string;
  scopes: ColumnType<string[], string[], string[]>;
  query_id: string | null;
  params: ColumnType<unknown, string | null, string | null>;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
  last_used_at: Timestamp | null;
  last_used_ip: string | null;
  rate_window_start: Timestamp | null;
  rate_window_count: Generated<number>;
}

/** One stored result (migration 2026-11-30T1247_result_store); written and read by server/results only. */
export interface ResultsTable {
  run_id: string;
  owner_id: string;
  query_id: string | null;
  query_version: number | null;
  data_source: string;
  cache_key: string | null;
  tier: string | null;
  columns: ColumnType<unknown, string, never>;
  row_count: number;
  truncated: boolean;
  encoding: 'gzip' | 'zstd';
  body: ColumnType<Buffer, Buffer, never>;
  byte_size: number;
  computed_at: ColumnType<Date, Date | string | undefined, never>;
  expires_at: Timestamp;
}

/** Runs started in the background (migration 2026-11-30T1253_background_runs); results in `results`. */
export interface BackgroundRunsTable {
  id: string;
  user_id: string;
  token_id: string | null;
  data_source: string;
  query_id: string | null;
  query_version: number | null;
  query_name: string | null;
  sql_preview: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  task_id: string;
  created_at: Generated<Date>;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  deadline_at: Timestamp;
  row_count: number | null;
  truncated: boolean | null;
  duration_ms: number | null;
  error_code: string | null;
  error_message: string | null;
  result_expires_at: Timestamp | null;
}

/** A dashboard as a whole; its content lives in dashboard_versions (migration 2026-11-30T1253_dashboards). */
export interface DashboardsTable {
  id: Generated<string>;
  owner_id: string;
  visibility: 'team' | 'private';
  locked: Generated<boolean>;
  current_version: number;
  forked_from_dashboard_id: string | null;
  forked_from_version: number | null;
  archived_at: Timestamp | null;
  archived_by: string | null;
  created_at: Generated<Date>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  search_text: ColumnType<string, string | undefined, string>;
}

/** One save of a dashboard; rows never change (a trigger refuses UPDATE). */
export interface DashboardVersionsTable {
  dashboard_id: string;
  version: number;
  author_id: string;
  created_at: Generated<Date>;
  name: string;
  description: string;
  layout: ColumnType<unknown, string, never>;
  restored_from: number | null;
}

export interface DashboardViewsTable {
  user_id: string;
  dashboard_id: string;
  viewed_at: Timestamp;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  audit_events: AuditEventsTable;
  audit_chain_head: AuditChainHeadTable;
  queries: QueriesTable;
  query_versions: QueryVersionsTable;
  query_views: QueryViewsTable;
  audit_verifications: AuditVerificationsTable;
  audit_anchors: AuditAnchorsTable;
  audit_retention_checkpoints: AuditRetentionCheckpointsTable;
  active_runs: ActiveRunsTable;
  alert_destinations: AlertDestinationsTable;
  checks: ChecksTable;
  check_runs: CheckRunsTable;
  notification_deliveries: NotificationDeliveriesTable;
  api_tokens: ApiTokensTable;
  results: ResultsTable;
  background_runs: BackgroundRunsTable;
  dashboards: DashboardsTable;
  dashboard_versions: DashboardVersionsTable;
  dashboard_views: DashboardViewsTable;
}

export type User = Selectable<UsersTable>;
export type NewAuditEvent = Insertable<AuditEventsTable>;
