// The audit chain's arithmetic, independent of the database: rebuilding an event's canonical text from
// its stored columns and hashing it. The insert trigger computes the same thing in SQL
// (schema/migrations/*_foundation.ts, audit_canonical); verification recomputes it here so a database
// function that was tampered with cannot vouch for itself.
import { createHash } from 'node:crypto';

export const GENESIS_HASH = Buffer.alloc(32);

/** An event's columns as PostgreSQL prints them (see CHAIN_COLUMNS_SQL). */
export interface ChainRow {
  seq: string;
  occurred_at: string;
  actor_user_id: string | null;
  actor_email: string | null;
  action: string;
  data_source: string | null;
  query_id: string | null;
  query_version: string | null;
  outcome: string | null;
  row_count: string | null;
  duration_ms: string | null;
  sql: string | null;
  params: string | null;
  error_code: string | null;
  client_ip: string | null;
  details: string;
  prev_hash: Buffer;
  hash: Buffer;
}

/** Select list producing ChainRow: numbers and jsonb as their text, the timestamp as in audit_canonical. */
export const CHAIN_COLUMNS_SQL = `seq::text as seq,
  to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
  actor_user_id::text as actor_user_id, actor_email, action, data_source, query_id::text as query_id,
  query_version::text as query_version, outcome, row_count::text as row_count, duration_ms::text as duration_ms,
  sql, params::text as params, error_code, client_ip, details::text as details, prev_hash, hash`;

type Part = { kind: 'number' | 'string' | 'json'; value: string | null };

/** jsonb's text form of an array: elements separated by ", "; strings escaped as JSON.stringify does. */
function jsonbArrayText(parts: Part[]): string {
  const items = parts.map(({ kind, value }) => {
    if (value === null) return 'null';
    return kind === 'string' ? JSON.stringify(value) : value;
  });
  return `[${items.join(', ')}]`;
}

export function canonicalText(row: ChainRow): string {
  const n = (value: string | null): Part => ({ kind: 'number', value });
  const s = (value: string | null): Part => ({ kind: 'string', value });
  const j = (value: string | null): Part => ({ kind: 'json', value });
  return jsonbArrayText([
    n(row.seq),
    s(row.occurred_at),
    n(row.actor_user_id),
    s(row.actor_email),
    s(row.action),
    s(row.data_source),
    n(row.query_id),
    n(row.query_version),
    s(row.outcome),
    n(row.row_count),
    n(row.duration_ms),
    s(row.sql),
    j(row.params),
    s(row.error_code),
    s(row.client_ip),
    j(row.details),
  ]);
}

export function chainHash(prevHash: Buffer, row: ChainRow): Buffer {
  return createHash('sha256').update(prevHash).update(canonicalText(row), 'utf8').digest();
}
