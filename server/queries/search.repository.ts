// Lists and search over saved queries: Kysely and SQL only. The visibility rule of access.ts ("team
// queries, your own, or everything for admins") is repeated here as a WHERE clause, because a list must
// never fetch what it may not show; test/queries/permissions.test.ts holds the two to the same table.
//
// Ranking: full text (name A, tags B, description and owner C, SQL D; websearch syntax, English stems
// and words as written) plus, with pg_trgm, trigram word similarity for typos and partial words, and a
// boost when the name contains the search text. Without pg_trgm the similarity terms are left out and
// ILIKE still finds substrings. Similarity looks at name, tags, description and owner (search_words, see
// migration 2026-11-23T2100) and ranks on the name: over the whole text, SQL included, it was ten times
// slower and a word in the SQL is found by full text and LIKE anyway.
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { Database } from '../../schema/database.js';
import type { Person } from './repository.js';

export type ListFilter = 'all' | 'mine' | 'recent';

export interface Viewer {
  id: string;
  admin: boolean;
}

export interface ListOptions {
  viewer: Viewer;
  filter: ListFilter;
  search?: string;
  tag?: string;
  archived: boolean;
  limit: number;
  offset: number;
  trigram: boolean;
}

export interface ListedQuery {
  id: string;
  name: string;
  description: string;
  tags: string[];
  dataSource: string;
  owner: Person;
  visibility: 'team' | 'private';
  locked: boolean;
  currentVersion: number;
  forkedFromQueryId: string | null;
  archivedAt: Date | null;
  updatedAt: Date;
  viewedAt: Date | null;
  rank: number | null;
}

export async function trigramAvailable(db: Kysely<Database>): Promise<boolean> {
  const row = await sql<{
    present: boolean;
  }>`select exists (select 1 from pg_extension where extname = 'pg_trgm') as present`.execute(db);
  return row.rows[0]?.present ?? false;
}

/** The SQL form of "may read": team queries, the viewer's own, and everything for admins. */
function visibleTo(viewer: Viewer): Expression<SqlBool> {
  return viewer.admin ? sql<SqlBool>`true` : sql<SqlBool>`(q.visibility = 'team' or q.owner_id = ${viewer.id})`;
}

const likePattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export async function listQueries(
  db: Kysely<Database>,
  options: ListOptions,
): Promise<{ queries: ListedQuery[]; hasMore: boolean }> {
  const { viewer, search } = options;
  const needle = (search ?? '').toLowerCase();
  const tsquery = sql`(websearch_to_tsquery('english', ${search ?? ''}) || websearch_to_tsquery('simple', ${search ?? ''}))`;
  const pattern = likePattern(needle);
  const similarity = options.trigram ? sql<number>`+ 0.6 * word_similarity(${needle}, lower(v.name))` : sql<number>``;
  const rank = search
    ? sql<
        number | null
      >`(ts_rank(q.search_document, ${tsquery}) + case when lower(v.name) like ${pattern} then 1 else 0 end ${similarity})`
    : sql<number | null>`null::real`;

  let query = db
    .selectFrom('queries as q')
    .innerJoin('query_versions as v', (join) =>
      join.onRef('v.query_id', '=', 'q.id').onRef('v.version', '=', 'q.current_version'),
    )
    .innerJoin('users as o', 'o.id', 'q.owner_id')
    .leftJoin('query_views as view', (join) => join.onRef('view.query_id', '=', 'q.id').on('view.user_id', '=', viewer.id))
    .select([
      'q.id',
      'v.name',
      sql<string>`left(v.description, 300)`.as('description'),
      'v.tags',
      'v.data_source',
      'q.owner_id',
      'o.name as owner_name',
      'o.email as owner_email',
      'q.visibility',
      'q.locked',
      'q.current_version',
      'q.forked_from_query_id',
      'q.archived_at',
      'q.updated_at',
      'view.viewed_at',
      rank.as('rank'),
    ])
    .where(visibleTo(viewer))
    .where('q.archived_at', options.archived ? 'is not' : 'is', null);

  if (options.filter === 'mine') query = query.where('q.owner_id', '=', viewer.id);
  if (options.filter === 'recent') query = query.where('view.viewed_at', 'is not', null);
  if (options.tag) query = query.where(sql<SqlBool>`v.tags @> array[${options.tag}]::text[]`);
  if (search) {
    // Text using search syntax ("a phrase", -word, or) means exactly what it says: full text only.
    const loose = !/"|(^|\s)-\S|\sor\s/i.test(search);
    const similar = options.trigram && loose ? sql<SqlBool>`or ${needle} <% q.search_words` : sql<SqlBool>``;
    const substring = loose ? sql<SqlBool>`or q.search_text like ${pattern}` : sql<SqlBool>``;
    query = query.where(sql<SqlBool>`(q.search_document @@ ${tsquery} ${substring} ${similar})`).orderBy(sql`rank`, 'desc');
  }
  // Recently viewed lists by the viewer's last visit; everything else by the query's last activity.
  if (options.filter === 'recent') query = query.orderBy('view.viewed_at', 'desc');
  query = query.orderBy('q.updated_at', 'desc').orderBy('q.id', 'desc');

  const rows = await query
    .limit(options.limit + 1)
    .offset(options.offset)
    .execute();
  return {
    hasMore: rows.length > options.limit,
    queries: rows.slice(0, options.limit).map((row) => ({
      id: row.id,
      name: row.name,
      description: row.description,
      tags: row.tags,
      dataSource: row.data_source,
      owner: { id: row.owner_id, name: row.owner_name, email: row.owner_email },
      visibility: row.visibility,
      locked: row.locked,
      currentVersion: row.current_version,
      forkedFromQueryId: row.forked_from_query_id,
      archivedAt: row.archived_at,
      updatedAt: row.updated_at,
      viewedAt: row.viewed_at,
      rank: row.rank === null ? null : Number(row.rank),
    })),
  };
}

/** Tags of the queries the viewer can see, most used first, for the list's tag filter. */
export async function tagCounts(db: Kysely<Database>, viewer: Viewer): Promise<Array<{ tag: string; count: number }>> {
  const result = await sql<{ tag: string; count: string }>`
    select tag, count(*) as count
    from queries q
    join query_versions v on v.query_id = q.id and v.version = q.current_version
    cross join unnest(v.tags) as tag
    where ${visibleTo(viewer)} and q.archived_at is null
    group by tag
    order by count(*) desc, tag
    limit 100`.execute(db);
  return result.rows.map((row) => ({ tag: row.tag, count: Number(row.count) }));
}

/** Queries forked from this one that the viewer can see, newest first. */
export async function listForks(
  db: Kysely<Database>,
  queryId: string,
  viewer: Viewer,
): Promise<Array<{ id: string; name: string; owner: Person; fromVersion: number | null }>> {
  const rows = await db
    .selectFrom('queries as q')
    .innerJoin('query_versions as v', (join) =>
      join.onRef('v.query_id', '=', 'q.id').onRef('v.version', '=', 'q.current_version'),
    )
    .innerJoin('users as o', 'o.id', 'q.owner_id')
    .select(['q.id', 'v.name', 'q.owner_id', 'o.name as owner_name', 'o.email as owner_email', 'q.forked_from_version'])
    .where('q.forked_from_query_id', '=', queryId)
    .where('q.archived_at', 'is', null)
    .where(visibleTo(viewer))
    .orderBy('q.created_at', 'desc')
    .limit(50)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    owner: { id: row.owner_id, name: row.owner_name, email: row.owner_email },
    fromVersion: row.forked_from_version,
  }));
}
