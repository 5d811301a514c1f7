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
}

export type User = Selectable<UsersTable>;
export type NewAuditEvent = Insertable<AuditEventsTable>;
