// api_tokens: personal access tokens and CSV links (issue #12). Only a SHA-256 of each secret is kept (the
// secrets are 190+ bits of randomness, so a plain hash is enough and lets a request find its row by index).
// Rate limiting per token shares the row: a fixed one-minute window counted in the same UPDATE that
// records the last use, so every task sees one count.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table api_tokens (
      id bigint generated always as identity primary key,
      user_id bigint not null references users (id) on delete cascade,
      kind text not null check (kind in ('personal', 'csv_link')),
      name text not null check (length(name) between 1 and 100),
      secret_hash bytea not null unique,
      -- The first characters of the secret (prefix included), so people can tell their tokens apart.
      secret_hint text not null,
      scopes text[] not null,
      query_id bigint references queries (id) on delete cascade,
      params jsonb,
      created_at timestamptz not null default now(),
      expires_at timestamptz not null,
      revoked_at timestamptz,
      revoked_by bigint references users (id) on delete set null,
      last_used_at timestamptz,
      last_used_ip text,
      rate_window_start timestamptz,
      rate_window_count integer not null default 0,
      check (kind <> 'csv_link' or query_id is not null)
    )`.execute(db);
  await sql`create index api_tokens_user_id on api_tokens (user_id, created_at desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table api_tokens`.execute(db);
}
