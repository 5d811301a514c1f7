// Dashboards in the tools DB: what is a dashboard's own (its layout, card facts, list and search); what it
// shares with saved queries is in server/versioned/repository.ts. Kysely only, `db` (or a transaction) first.
import { sql, type Kysely, type SqlBool } from 'kysely';
import type { Database } from '../../schema/database.js';
import { versionHeader, type EntityRow, type Person, type VersionRow } from '../versioned/repository.js';
import type { DashboardContent, DashboardLayout } from './content.js';

export type DashboardRow = EntityRow;
export type DashboardVersionRow = VersionRow<DashboardContent>;

export interface ListedDashboard {
  id: string;
  name: string;
  description: string;
  owner: Person;
  visibility: 'team' | 'private';
  locked: boolean;
  currentVersion: number;
  cardCount: number;
  archivedAt: Date | null;
  updatedAt: Date;
  viewedAt: Date | null;
}

/**
 * What a card's run needs to know, in one round trip (it is asked once per card a viewer sees): the
 * access facts, the current version's cache max age, and whether the query is one of its cards.
 */
export async function findCardRunFacts(
  db: Kysely<Database>,
  dashboardId: string,
  queryId: string,
): Promise<
  | {
      id: string;
      ownerId: string;
      visibility: 'team' | 'private';
      locked: boolean;
      cacheMaxAgeSeconds: number;
      onDashboard: boolean;
    }
  | undefined
> {
  const row = await db
    .selectFrom('dashboards as d')
    .innerJoin('dashboard_versions as v', (join) =>
      join.onRef('v.dashboard_id', '=', 'd.id').onRef('v.version', '=', 'd.current_version'),
    )
    .select([
      'd.id',
      'd.owner_id',
      'd.visibility',
      'd.locked',
      sql<number>`(v.layout->>'cacheMaxAgeSeconds')::int`.as('cache_max_age_seconds'),
      sql<boolean>`exists (select 1 from jsonb_array_elements(v.layout->'cards') card where card->>'queryId' = ${queryId})`.as(
        'on_dashboard',
      ),
    ])
    .where('d.id', '=', dashboardId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    ownerId: row.owner_id,
    visibility: row.visibility,
    locked: row.locked,
    cacheMaxAgeSeconds: row.cache_max_age_seconds,
    onDashboard: row.on_dashboard,
  };
}

export async function findDashboardVersion(
  db: Kysely<Database>,
  dashboardId: string,
  version: number,
): Promise<DashboardVersionRow | undefined> {
  const row = await db
    .selectFrom('dashboard_versions as v')
    .innerJoin('users as a', 'a.id', 'v.author_id')
    .selectAll('v')
    .select(['a.name as author_name', 'a.email as author_email'])
    .where('v.dashboard_id', '=', dashboardId)
    .where('v.version', '=', version)
    .executeTakeFirst();
  if (!row) return undefined;
  const layout = row.layout as DashboardLayout;
  return {
    ...versionHeader(row),
    content: {
      name: row.name,
      description: row.description,
      variables: layout.variables,
      refreshSeconds: layout.refreshSeconds,
      cacheMaxAgeSeconds: layout.cacheMaxAgeSeconds,
      cards: layout.cards,
    },
  };
}

export async function insertDashboardVersion(
  db: Kysely<Database>,
  values: { dashboardId: string; version: number; authorId: string; content: DashboardContent; restoredFrom?: number },
): Promise<void> {
  const { name, description, ...layout } = values.content;
  await db
    .insertInto('dashboard_versions')
    .values({
      dashboard_id: values.dashboardId,
      version: values.version,
      author_id: values.authorId,
      name,
      description,
      layout: JSON.stringify(layout),
      restored_from: values.restoredFrom ?? null,
    })
    .execute();
  await db
    .updateTable('dashboards')
    .set({
      current_version: values.version,
      updated_at: sql<Date>`now()`,
      search_text: `${name} ${description}`.toLowerCase(),
    })
    .where('id', '=', values.dashboardId)
    .execute();
}

const likePattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The visibility rule of access.ts as a WHERE clause: a list never fetches what it may not show. */
export async function listDashboards(
  db: Kysely<Database>,
  options: {
    viewer: { id: string; admin: boolean };
    filter: 'all' | 'mine' | 'recent';
    search?: string;
    archived: boolean;
    limit: number;
    offset: number;
  },
): Promise<{ dashboards: ListedDashboard[]; hasMore: boolean }> {
  const { viewer } = options;
  let query = db
    .selectFrom('dashboards as d')
    .innerJoin('dashboard_versions as v', (join) =>
      join.onRef('v.dashboard_id', '=', 'd.id').onRef('v.version', '=', 'd.current_version'),
    )
    .innerJoin('users as o', 'o.id', 'd.owner_id')
    .leftJoin('dashboard_views as view', (join) =>
      join.onRef('view.dashboard_id', '=', 'd.id').on('view.user_id', '=', viewer.id),
    )
    .select([
      'd.id',
      'v.name',
      sql<string>`left(v.description, 300)`.as('description'),
      sql<number>`jsonb_array_length(v.layout -> 'cards')`.as('card_count'),
      'd.owner_id',
      'o.name as owner_name',
      'o.email as owner_email',
      'd.visibility',
      'd.locked',
      'd.current_version',
      'd.archived_at',
      'd.updated_at',
      'view.viewed_at',
    ])
    .where(viewer.admin ? sql<SqlBool>`true` : sql<SqlBool>`(d.visibility = 'team' or d.owner_id = ${viewer.id})`)
    .where('d.archived_at', options.archived ? 'is not' : 'is', null);
  if (options.filter === 'mine') query = query.where('d.owner_id', '=', viewer.id);
  if (options.filter === 'recent') query = query.where('view.viewed_at', 'is not', null).orderBy('view.viewed_at', 'desc');
  const search = options.search?.trim();
  if (search) {
    query = query
      .where(sql<SqlBool>`d.search_text like ${likePattern(search)}`)
      .orderBy(sql`position(${search.toLowerCase()} in lower(v.name)) = 0`);
  }
  const rows = await query
    .orderBy('d.updated_at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(options.limit + 1)
    .offset(options.offset)
    .execute();
  return {
    hasMore: rows.length > options.limit,
    dashboards: rows.slice(0, options.limit).map((row) => ({
      id: row.id,
      name: row.name,
      description: row.description,
      owner: { id: row.owner_id, name: row.owner_name, email: row.owner_email },
      visibility: row.visibility,
      locked: row.locked,
      currentVersion: row.current_version,
      cardCount: Number(row.card_count),
      archivedAt: row.archived_at,
      updatedAt: row.updated_at,
      viewedAt: row.viewed_at,
    })),
  };
}
