// The result store (DESIGN.md "Shared pieces"): one table of compressed results, used by the dashboard
// cache and by background runs. A row is one run's result, keyed by its run id; `cache_key` (a hash of
// query version, data source, parameter values and tier) makes it findable by other runs of the same
// query. Rows go when they expire, when the total cap evicts them (oldest first), or with their query.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table results (
      run_id uuid primary key,
      -- Who ran it: a result by run id is read by its owner (or an admin) only.
      owner_id bigint not null references users (id) on delete cascade,
      -- A purged query takes its results with it (the store also deletes them explicitly).
      query_id bigint references queries (id) on delete cascade,
      query_version integer,
      data_source text not null,
      -- Null: never served to another run (free SQL, or a run that is not cacheable).
      cache_key text,
      -- The reader role (access tier) the result was computed with; null: the source's default role.
      tier text,
      columns jsonb not null,
      row_count integer not null,
      truncated boolean not null,
      encoding text not null check (encoding in ('gzip')),
      body bytea not null,
      -- Compressed size of body: what the per-entry and total caps count.
      byte_size integer not null check (byte_size >= 0),
      computed_at timestamptz not null default now(),
      expires_at timestamptz not null,
      check (cache_key is null or query_id is not null),
      check ((query_id is null) = (query_version is null))
    )`.execute(db);
  await sql`create index results_cache_key on results (cache_key, computed_at desc) where cache_key is not null`.execute(db);
  await sql`create index results_computed_at on results (computed_at, run_id)`.execute(db);
  await sql`create index results_expires_at on results (expires_at)`.execute(db);
  await sql`create index results_query_id on results (query_id) where query_id is not null`.execute(db);
  await sql`create index results_owner_id on results (owner_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table results`.execute(db);
}
