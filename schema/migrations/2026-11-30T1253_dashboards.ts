// Dashboards (issue #10): `dashboards` holds what is true of a dashboard as a whole (owner, visibility,
// lock, archive, lineage, the pointer to its current version); `dashboard_versions` holds every save,
// immutable, with its layout and variables as one JSON document. Saved queries get their own cache max
// age (the result cache answers a run from a result at most this old; 0 = off).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table queries add column cache_max_age_seconds integer not null default 300
    check (cache_max_age_seconds between 0 and 86400)`.execute(db);

  await sql`
    create table dashboards (
      id bigint generated always as identity primary key,
      owner_id bigint not null references users (id),
      visibility text not null default 'team' check (visibility in ('team', 'private')),
      locked boolean not null default false,
      current_version integer not null,
      forked_from_dashboard_id bigint references dashboards (id) on delete set null,
      forked_from_version integer,
      archived_at timestamptz,
      archived_by bigint references users (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      -- The current version's name and description, lower-cased, kept by the app: what search looks at.
      search_text text not null default ''
    )`.execute(db);

  await sql`
    create table dashboard_versions (
      dashboard_id bigint not null references dashboards (id) on delete cascade,
      version integer not null check (version >= 1),
      author_id bigint not null references users (id),
      created_at timestamptz not null default now(),
      name text not null,
      description text not null default '',
      -- variables, refreshSeconds, cacheMaxAgeSeconds, cards (server/dashboards/content.ts)
      layout jsonb not null,
      restored_from integer,
      primary key (dashboard_id, version)
    )`.execute(db);

  await sql`
    alter table dashboards add constraint dashboards_current_version_fk
      foreign key (id, current_version) references dashboard_versions (dashboard_id, version)
      deferrable initially deferred`.execute(db);

  await sql`
    create function dashboard_versions_immutable() returns trigger
    language plpgsql set search_path = pg_catalog, public as $$
    begin
      if tg_op = 'DELETE' and not exists (select 1 from public.dashboards where id = old.dashboard_id) then
        return old;
      end if;
      raise exception 'dashboard_versions are immutable: % is not allowed', tg_op using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`
    create trigger dashboard_versions_immutable before update or delete on dashboard_versions
      for each row execute function dashboard_versions_immutable()`.execute(db);
  await sql`
    create trigger dashboard_versions_no_truncate before truncate on dashboard_versions
      for each statement execute function dashboard_versions_immutable()`.execute(db);

  await sql`
    create table dashboard_views (
      user_id bigint not null references users (id) on delete cascade,
      dashboard_id bigint not null references dashboards (id) on delete cascade,
      viewed_at timestamptz not null default now(),
      primary key (user_id, dashboard_id)
    )`.execute(db);

  await sql`create index dashboards_owner_id on dashboards (owner_id)`.execute(db);
  await sql`create index dashboards_updated_at on dashboards (updated_at desc)`.execute(db);
  await sql`create index dashboard_views_recent on dashboard_views (user_id, viewed_at desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table dashboard_views`.execute(db);
  await sql`alter table dashboards drop constraint dashboards_current_version_fk`.execute(db);
  await sql`drop table dashboard_versions`.execute(db);
  await sql`drop table dashboards`.execute(db);
  await sql`drop function dashboard_versions_immutable()`.execute(db);
  await sql`alter table queries drop column cache_max_age_seconds`.execute(db);
}
