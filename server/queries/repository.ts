// Saved queries in the tools DB: what is a query's own (content columns, search, cache setting); what it
// shares with dashboards is in server/versioned/repository.ts. Kysely only, `db` (or a transaction) first.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, QueryVersionsTable } from '../../schema/database.js';
import {
  QUERY_TABLES,
  entityRow,
  selectEntity,
  versionHeader,
  type EntityRow,
  type Person,
  type VersionRow as SharedVersionRow,
  type VersionSummary,
} from '../versioned/repository.js';
import type { QueryContent, VariableDeclaration } from './content.js';

export type { Person };

export interface QueryRow extends EntityRow {
  /** The result cache's max age for runs of this query; 0 = off. */
  cacheMaxAgeSeconds: number;
}

export type VersionRow = SharedVersionRow<QueryContent>;
export type { VersionSummary };

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

/** A query's row: the shared entity columns and the query's own cache setting. */
function selectQuery(db: Kysely<Database>, id: string, options: { forUpdate?: boolean } = {}) {
  return selectEntity(db, QUERY_TABLES, id, options).select(
    sql.ref<number>('e.cache_max_age_seconds').as('cache_max_age_seconds'),
  );
}

function queryRow(row: Parameters<typeof entityRow>[0] & { cache_max_age_seconds: number }): QueryRow {
  return { ...entityRow(row), cacheMaxAgeSeconds: row.cache_max_age_seconds };
}

export async function findQuery(
  db: Kysely<Database>,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<QueryRow | undefined> {
  const row = await selectQuery(db, id, options).executeTakeFirst();
  return row && queryRow(row);
}

/** What a run of a saved query needs of the version it runs. */
export interface RunnableVersion {
  version: number;
  name: string;
  dataSource: string;
  sql: string;
  variables: VariableDeclaration[];
}

/**
 * The query and the version a run asks for (its current one by default) in one round trip: a run, and
 * every dashboard card and cache hit with it, reads both. `version` is undefined when the query has no
 * such version. The caller checks access on `query` before it uses anything of the version.
 */
export async function findQueryForRun(
  db: Kysely<Database>,
  id: string,
  version?: number,
): Promise<{ query: QueryRow; version: RunnableVersion | undefined } | undefined> {
  const row = await selectQuery(db, id)
    .leftJoin('query_versions as rv', (join) =>
      join.onRef('rv.query_id', '=', 'e.id').on(sql<boolean>`rv.version = coalesce(${version ?? null}::int, e.current_version)`),
    )
    .select([
      'rv.version as run_version',
      'rv.name as run_name',
      'rv.data_source as run_data_source',
      'rv.sql as run_sql',
      'rv.variables as run_variables',
    ])
    .executeTakeFirst();
  if (!row) return undefined;
  const query = queryRow(row);
  if (row.run_version === null) return { query, version: undefined };
  return {
    query,
    version: {
      version: row.run_version,
      name: row.run_name!,
      dataSource: row.run_data_source!,
      sql: row.run_sql!,
      variables: row.run_variables as VariableDeclaration[],
    },
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
  return row && { ...versionHeader(row), content: toContent(row) };
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

/** The result cache's max age for runs of this query (a query's own setting). */
export async function setCacheMaxAge(db: Kysely<Database>, queryId: string, seconds: number): Promise<void> {
  await db
    .updateTable('queries')
    .set({ cache_max_age_seconds: seconds, updated_at: sql<Date>`now()` })
    .where('id', '=', queryId)
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
