// Versioned entities (saved queries, dashboards) in the tools DB: the parts of their tables that are the
// same, read and written once. Each feature names its tables (VersionedTables) and keeps its own content
// columns, search and lists in its own repository. Kysely only, `db` (or a transaction) first.
//
// The shared columns are typed as what both features' tables have in common (an intersection of the two
// real table types), so a shared query can use only a column that exists, with the same type, in both.
import { sql, type Kysely } from 'kysely';
import type {
  Database,
  DashboardsTable,
  DashboardVersionsTable,
  QueriesTable,
  QueryVersionsTable,
} from '../../schema/database.js';

export interface Person {
  id: string;
  name: string | null;
  email: string | null;
}

export type Visibility = 'team' | 'private';

/** Where one kind of versioned entity lives. */
export interface VersionedTables {
  /** One row per entity: owner, visibility, lock, archive state, the current version. */
  entities: 'queries' | 'dashboards';
  /** Its immutable versions, numbered from 1. */
  versions: 'query_versions' | 'dashboard_versions';
  /** When each user last opened each entity. */
  views: 'query_views' | 'dashboard_views';
  /** The column of `versions` and `views` that names the entity. */
  entityId: 'query_id' | 'dashboard_id';
  /** The column of `entities` that names the entity a fork was made from. */
  forkedFromId: 'forked_from_query_id' | 'forked_from_dashboard_id';
}

export const QUERY_TABLES = {
  entities: 'queries',
  versions: 'query_versions',
  views: 'query_views',
  entityId: 'query_id',
  forkedFromId: 'forked_from_query_id',
} as const satisfies VersionedTables;

export const DASHBOARD_TABLES = {
  entities: 'dashboards',
  versions: 'dashboard_versions',
  views: 'dashboard_views',
  entityId: 'dashboard_id',
  forkedFromId: 'forked_from_dashboard_id',
} as const satisfies VersionedTables;

type SharedEntityColumn =
  | 'id'
  | 'owner_id'
  | 'visibility'
  | 'locked'
  | 'current_version'
  | 'forked_from_version'
  | 'archived_at'
  | 'archived_by'
  | 'created_at'
  | 'updated_at';
type EntityColumns = Pick<QueriesTable, SharedEntityColumn> & Pick<DashboardsTable, SharedEntityColumn>;

type SharedVersionColumn = 'version' | 'author_id' | 'created_at' | 'name' | 'restored_from';
type VersionColumns = Pick<QueryVersionsTable, SharedVersionColumn> & Pick<DashboardVersionsTable, SharedVersionColumn>;

const entitiesOf = (tables: VersionedTables) => sql<EntityColumns>`${sql.table(tables.entities)}`.as('e');
const versionsOf = (tables: VersionedTables) => sql<VersionColumns>`${sql.table(tables.versions)}`.as('v');

/** The entity's row, without its content (that is in its versions). */
export interface EntityRow {
  id: string;
  owner: Person;
  visibility: Visibility;
  locked: boolean;
  currentVersion: number;
  forkedFromId: string | null;
  forkedFromVersion: number | null;
  archivedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Who saved a version, when, and whether it restored an older one. */
export interface VersionHeader {
  version: number;
  author: Person;
  createdAt: Date;
  restoredFrom: number | null;
}

export type VersionRow<Content> = VersionHeader & { content: Content };
export type VersionSummary = VersionHeader & { name: string };

/**
 * The select of one entity with its owner; a feature may add its own columns (as `e.<column>`) before
 * executing it and turn the row into an EntityRow with entityRow().
 */
export function selectEntity(db: Kysely<Database>, tables: VersionedTables, id: string, options: { forUpdate?: boolean } = {}) {
  let query = db
    .selectFrom(entitiesOf(tables))
    .innerJoin('users as o', 'o.id', 'e.owner_id')
    .select([
      'e.id',
      'e.owner_id',
      'o.name as owner_name',
      'o.email as owner_email',
      'e.visibility',
      'e.locked',
      'e.current_version',
      sql.ref<string | null>(`e.${tables.forkedFromId}`).as('forked_from_id'),
      'e.forked_from_version',
      'e.archived_at',
      'e.created_at',
      'e.updated_at',
    ])
    .where('e.id', '=', id);
  // Saves of one entity queue on its row, so each compares its base version with the truth.
  if (options.forUpdate) query = query.forUpdate('e');
  return query;
}

export function entityRow(row: {
  id: string;
  owner_id: string;
  owner_name: string | null;
  owner_email: string | null;
  visibility: Visibility;
  locked: boolean;
  current_version: number;
  forked_from_id: string | null;
  forked_from_version: number | null;
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
}): EntityRow {
  return {
    id: row.id,
    owner: { id: row.owner_id, name: row.owner_name, email: row.owner_email },
    visibility: row.visibility,
    locked: row.locked,
    currentVersion: row.current_version,
    forkedFromId: row.forked_from_id,
    forkedFromVersion: row.forked_from_version,
    archivedAt: row.archived_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function findEntity(
  db: Kysely<Database>,
  tables: VersionedTables,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<EntityRow | undefined> {
  const row = await selectEntity(db, tables, id, options).executeTakeFirst();
  return row && entityRow(row);
}

/** A version's header from its row joined to its author (as `author_name`, `author_email`). */
export function versionHeader(row: {
  version: number;
  author_id: string;
  author_name: string | null;
  author_email: string | null;
  created_at: Date;
  restored_from: number | null;
}): VersionHeader {
  return {
    version: row.version,
    author: { id: row.author_id, name: row.author_name, email: row.author_email },
    createdAt: row.created_at,
    restoredFrom: row.restored_from,
  };
}

/** Every version, newest first, without content (a history fetches one version when it needs it). */
export async function listVersions(db: Kysely<Database>, tables: VersionedTables, id: string): Promise<VersionSummary[]> {
  const rows = await db
    .selectFrom(versionsOf(tables))
    .innerJoin('users as a', 'a.id', 'v.author_id')
    .select([
      'v.version',
      'v.name',
      'v.created_at',
      'v.restored_from',
      'v.author_id',
      'a.name as author_name',
      'a.email as author_email',
    ])
    .where(sql.ref(`v.${tables.entityId}`), '=', id)
    .orderBy('v.version', 'desc')
    .execute();
  return rows.map((row) => ({ ...versionHeader(row), name: row.name }));
}

/** A new entity at version 1 (its first version is the feature's to insert, in the same transaction). */
export async function insertEntity(
  db: Kysely<Database>,
  tables: VersionedTables,
  values: { ownerId: string; visibility: Visibility; forkedFrom?: { id: string; version: number } },
): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    insert into ${sql.table(tables.entities)} (owner_id, visibility, current_version, ${sql.ref(tables.forkedFromId)}, forked_from_version)
    values (${values.ownerId}, ${values.visibility}, 1, ${values.forkedFrom?.id ?? null}, ${values.forkedFrom?.version ?? null})
    returning id`.execute(db);
  return rows[0]!.id;
}

export async function updateSettings(
  db: Kysely<Database>,
  tables: VersionedTables,
  id: string,
  settings: { visibility?: Visibility; locked?: boolean },
): Promise<void> {
  await db
    .updateTable(entitiesOf(tables))
    .set({ ...settings, updated_at: sql<Date>`now()` })
    .where('e.id', '=', id)
    .execute();
}

export async function setArchived(
  db: Kysely<Database>,
  tables: VersionedTables,
  id: string,
  archivedBy: string | null,
): Promise<void> {
  await db
    .updateTable(entitiesOf(tables))
    .set({
      archived_at: archivedBy === null ? null : sql<Date>`now()`,
      archived_by: archivedBy,
      updated_at: sql<Date>`now()`,
    })
    .where('e.id', '=', id)
    .execute();
}

/** Deletes the entity with its versions and views (versions go only this way; see the migrations). */
export async function deleteEntity(db: Kysely<Database>, tables: VersionedTables, id: string): Promise<void> {
  await db.deleteFrom(entitiesOf(tables)).where('e.id', '=', id).execute();
}

export async function recordView(db: Kysely<Database>, tables: VersionedTables, userId: string, id: string): Promise<void> {
  const entityId = sql.ref(tables.entityId);
  await sql`
    insert into ${sql.table(tables.views)} (user_id, ${entityId}, viewed_at) values (${userId}, ${id}, now())
    on conflict (user_id, ${entityId}) do update set viewed_at = now()`.execute(db);
}
