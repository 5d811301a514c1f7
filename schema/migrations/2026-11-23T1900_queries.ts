// Saved queries (issue #5): `queries` holds what is true of a query as a whole (owner, visibility, lock,
// archive, lineage, the pointer to its current version); `query_versions` holds every save, immutable.
// Search uses full text plus trigram similarity (pg_trgm); pg_trgm is a trusted extension since
// PostgreSQL 13, so the tools DB's owner creates it without superuser. Where it cannot (a managed
// service that disallows it, a build without contrib), the migration goes on without it and search
// falls back to ILIKE matching (server/queries/search.repository.ts checks pg_extension).
import { sql, type Kysely } from 'kysely';

/** SQLSTATEs that mean "this role or this server cannot create pg_trgm": fall back, do not fail. */
const TRGM_UNAVAILABLE = new Set(['42501', '58P01', '0A000', '42704']);

async function createTrigramExtension(db: Kysely<unknown>): Promise<boolean> {
  // The migration runs in a transaction; a failed statement would abort all of it without the savepoint.
  await sql`savepoint porthole_trgm`.execute(db);
  try {
    await sql`create extension if not exists pg_trgm`.execute(db);
    await sql`release savepoint porthole_trgm`.execute(db);
    return true;
  } catch (error) {
    if (!TRGM_UNAVAILABLE.has((error as { code?: string }).code ?? '')) throw error;
    await sql`rollback to savepoint porthole_trgm`.execute(db);
    return false;
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  const trigram = await createTrigramExtension(db);

  await sql`
    create table queries (
      id bigint generated always as identity primary key,
      owner_id bigint not null references users (id),
      visibility text not null default 'team' check (visibility in ('team', 'private')),
      -- Locked: only the owner (and admins) may save new versions of a team query.
      locked boolean not null default false,
      current_version integer not null,
      forked_from_query_id bigint references queries (id) on delete set null,
      forked_from_version integer,
      archived_at timestamptz,
      archived_by bigint references users (id),
      created_at timestamptz not null default now(),
      -- Last activity (a save, a restore, an archive, a settings change): lists sort by it.
      updated_at timestamptz not null default now(),
      -- The current version's words, weighted, kept by the app whenever the pointer moves.
      search_document tsvector not null default ''::tsvector,
      search_text text not null default ''
    )`.execute(db);

  await sql`
    create table query_versions (
      query_id bigint not null references queries (id) on delete cascade,
      version integer not null check (version >= 1),
      author_id bigint not null references users (id),
      created_at timestamptz not null default now(),
      name text not null,
      description text not null default '',
      tags text[] not null default '{}',
      data_source text not null,
      sql text not null,
      variables jsonb not null default '[]',
      chart jsonb,
      -- Set when this version was made by restoring an older one.
      restored_from integer,
      primary key (query_id, version)
    )`.execute(db);

  // The pointer always names a stored version; deferred so a query and its first version go in together.
  await sql`
    alter table queries add constraint queries_current_version_fk
      foreign key (id, current_version) references query_versions (query_id, version)
      deferrable initially deferred`.execute(db);

  // Versions never change; they disappear only with their query (an admin's purge cascades here).
  await sql`
    create function query_versions_immutable() returns trigger
    language plpgsql set search_path = pg_catalog, public as $$
    begin
      if tg_op = 'DELETE' and not exists (select 1 from public.queries where id = old.query_id) then
        return old;
      end if;
      raise exception 'query_versions are immutable: % is not allowed', tg_op using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`
    create trigger query_versions_immutable before update or delete on query_versions
      for each row execute function query_versions_immutable()`.execute(db);
  await sql`
    create trigger query_versions_no_truncate before truncate on query_versions
      for each statement execute function query_versions_immutable()`.execute(db);

  await sql`
    create table query_views (
      user_id bigint not null references users (id) on delete cascade,
      query_id bigint not null references queries (id) on delete cascade,
      viewed_at timestamptz not null default now(),
      primary key (user_id, query_id)
    )`.execute(db);

  await sql`create index queries_owner_id on queries (owner_id)`.execute(db);
  await sql`create index queries_updated_at on queries (updated_at desc)`.execute(db);
  await sql`create index queries_forked_from on queries (forked_from_query_id) where forked_from_query_id is not null`.execute(
    db,
  );
  await sql`create index queries_search_document on queries using gin (search_document)`.execute(db);
  if (trigram) await sql`create index queries_search_text on queries using gin (search_text gin_trgm_ops)`.execute(db);
  await sql`create index query_views_recent on query_views (user_id, viewed_at desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table query_views`.execute(db);
  await sql`alter table queries drop constraint queries_current_version_fk`.execute(db);
  await sql`drop table query_versions`.execute(db);
  await sql`drop table queries`.execute(db);
  await sql`drop function query_versions_immutable()`.execute(db);
  await sql`drop extension if exists pg_trgm`.execute(db);
}
