// Saved queries in the tools DB: Kysely only, `db` (or a transaction) first. Rules live in service.ts.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, QueryVersionsTable } from '../../schema/database.js';
import type { QueryContent, VariableDeclaration } from './content.js';

export interface Person {
  id: string;
  name: string | null;
  email: string | null;
}

export interface QueryRow {
  id: string;
  owner: Person;
  visibility: 'team' | 'private';
  locked: boolean;
  currentVersion: number;
  forkedFromQueryId: string | null;
  forkedFromVersion: number | null;
  archivedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** The result cache's max age for runs of this query; 0 = off. */
  cacheMaxAgeSeconds: number;
}

export interface VersionRow {
  queryId: string;
  version: number;
  author: Person;
  createdAt: Date;
  restoredFrom: number | null;
  content: QueryContent;
}

export type VersionSummary = Omit<VersionRow, 'content'> & { name: string };

function toContent(row: Selectable<QueryVersionsTable>): QueryContent {
  return {
    name: row.name,
    description: row.description,
    tags: row.tags,
    dataSource: row.data_source,
    sql: row.sql,
    variables: row.variables as VariableDeclaration[],
    chart: row.chart ?? null,
  };
}

export async function findQuery(
  db: Kysely<Database>,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<QueryRow | undefined> {
  let query = db
    .selectFrom('queries as q')
    .innerJoin('users as o', 'o.id', 'q.owner_id')
    .select([
      'q.id',
      'q.owner_id',
      'o.name as owner_name',
      'o.email as owner_email',
      'q.visibility',
      'q.locked',
      'q.current_version',
      'q.forked_from_query_id',
      'q.forked_from_version',
      'q.archived_at',
      'q.created_at',
      'q.updated_at',
      'q.cache_max_age_seconds',
    ])
    .where('q.id', '=', id);
  // Saves of one query queue on its row, so each compares its base version with the truth.
  if (options.forUpdate) query = query.forUpdate('q');
  const row = await query.executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    owner: { id: row.owner_id, name: row.owner_name, email: row.owner_email },
    visibility: row.visibility,
    locked: row.locked,
    currentVersion: row.current_version,
    forkedFromQueryId: row.forked_from_query_id,
    forkedFromVersion: row.forked_from_version,
    archivedAt: row.archived_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    cacheMaxAgeSeconds: row.cache_max_age_seconds,
  };
}

export async function findVersion(db: Kysely<Database>, queryId: string, version: number): Promise<VersionRow | undefined> {
  const row = await db
    .selectFrom('query_versions as v')
    .innerJoin('users as a', 'a.id', 'v.author_id')
    .selectAll('v')
    .select(['a.name as author_name', 'a.email as author_email'])
    .where('v.query_id', '=', queryId)
    .where('v.version', '=', version)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    queryId: row.query_id,
    version: row.version,
    author: { id: row.author_id, name: row.author_name, email: row.author_email },
    createdAt: row.created_at,
    restoredFrom: row.restored_from,
    content: toContent(row),
  };
}

/** Every version, newest first, without SQL (the history panel fetches one version when it needs it). */
export async function listVersions(db: Kysely<Database>, queryId: string): Promise<VersionSummary[]> {
  const rows = await db
    .selectFrom('query_versions as v')
    .innerJoin('users as a', 'a.id', 'v.author_id')
    .select([
      'v.query_id',
      'v.version',
      'v.name',
      'v.created_at',
      'v.restored_from',
      'v.author_id',
      'a.name as author_name',
      'a.email as author_email',
    ])
    .where('v.query_id', '=', queryId)
    .orderBy('v.version', 'desc')
    .execute();
  return rows.map((row) => ({
    queryId: row.query_id,
    version: row.version,
    name: row.name,
    author: { id: row.author_id, name: row.author_name, email: row.author_email },
    createdAt: row.created_at,
    restoredFrom: row.restored_from,
  }));
}

export async function insertQuery(
  db: Kysely<Database>,
  values: { ownerId: string; visibility: 'team' | 'private'; forkedFrom?: { queryId: string; version: number } },
): Promise<string> {
  const row = await db
    .insertInto('queries')
    .values({
      owner_id: values.ownerId,
      visibility: values.visibility,
      current_version: 1,
      forked_from_query_id: values.forkedFrom?.queryId ?? null,
      forked_from_version: values.forkedFrom?.version ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function insertVersion(
  db: Kysely<Database>,
  values: { queryId: string; version: number; authorId: string; content: QueryContent; restoredFrom?: number },
): Promise<void> {
  const { content } = values;
  await db
    .insertInto('query_versions')
    .values({
      query_id: values.queryId,
      version: values.version,
      author_id: values.authorId,
      name: content.name,
      description: content.description,
      tags: content.tags,
      data_source: content.dataSource,
      sql: content.sql,
      variables: JSON.stringify(content.variables),
      chart: content.chart === null || content.chart === undefined ? null : JSON.stringify(content.chart),
      restored_from: values.restoredFrom ?? null,
    })
    .execute();
}

/** Points the query at a version it already has, marks the activity and re-indexes it for search. */
export async function setCurrentVersion(db: Kysely<Database>, queryId: string, version: number): Promise<void> {
  await db
    .updateTable('queries')
    .set({ current_version: version, updated_at: sql<Date>`now()` })
    .where('id', '=', queryId)
    .execute();
  await refreshSearch(db, queryId);
}

/**
 * The search columns from the current version and the owner. The name goes in twice, stemmed (English)
 * and as written; SQL and tags only as written, since stemming identifiers helps nobody.
 */
export async function refreshSearch(db: Kysely<Database>, queryId: string): Promise<void> {
  await sql`
    update queries q set
      search_document =
        setweight(to_tsvector('english', v.name), 'A') ||
        setweight(to_tsvector('simple', v.name), 'A') ||
        setweight(to_tsvector('simple', array_to_string(v.tags, ' ')), 'B') ||
        setweight(to_tsvector('english', v.description), 'C') ||
        setweight(to_tsvector('simple', concat_ws(' ', o.name, o.email)), 'C') ||
        setweight(to_tsvector('simple', v.sql), 'D'),
      search_text = lower(concat_ws(' ', v.name, array_to_string(v.tags, ' '), v.description, o.name, o.email, v.sql)),
      search_words = lower(concat_ws(' ', v.name, array_to_string(v.tags, ' '), v.description, o.name))
    from query_versions v, users o
    where q.id = ${queryId} and v.query_id = q.id and v.version = q.current_version and o.id = q.owner_id`.execute(db);
}

export async function updateSettings(
  db: Kysely<Database>,
  queryId: string,
  settings: { visibility?: 'team' | 'private'; locked?: boolean; cache_max_age_seconds?: number },
): Promise<void> {
  await db
    .updateTable('queries')
    .set({ ...settings, updated_at: sql<Date>`now()` })
    .where('id', '=', queryId)
    .execute();
}

export async function setArchived(db: Kysely<Database>, queryId: string, archivedBy: string | null): Promise<void> {
  await db
    .updateTable('queries')
    .set({
      archived_at: archivedBy === null ? null : sql<Date>`now()`,
      archived_by: archivedBy,
      updated_at: sql<Date>`now()`,
    })
    .where('id', '=', queryId)
    .execute();
}

/** Deletes the query with its versions and views (versions go only this way; see the migration). */
export async function deleteQuery(db: Kysely<Database>, queryId: string): Promise<void> {
  await db.deleteFrom('queries').where('id', '=', queryId).execute();
}

export async function recordView(db: Kysely<Database>, userId: string, queryId: string): Promise<void> {
  await db
    .insertInto('query_views')
    .values({ user_id: userId, query_id: queryId, viewed_at: sql<Date>`now()` })
    .onConflict((oc) => oc.columns(['user_id', 'query_id']).doUpdateSet({ viewed_at: sql<Date>`now()` }))
    .execute();
}

/** The current name of a query, for lineage ("forked from ..."). */
export async function currentName(db: Kysely<Database>, queryId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('queries as q')
    .innerJoin('query_versions as v', (join) =>
      join.onRef('v.query_id', '=', 'q.id').onRef('v.version', '=', 'q.current_version'),
    )
    .select('v.name')
    .where('q.id', '=', queryId)
    .executeTakeFirst();
  return row?.name;
}
