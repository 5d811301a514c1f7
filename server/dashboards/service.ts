// Dashboards: the rules. Every public method checks access first (access.ts: the same table as queries,
// 404 for a private dashboard), then works in one transaction that also appends the audit event. Saves
// are optimistic: a save names the version it was based on, and one based on anything but the current
// version is refused with 409 and the current version. Those rules are shared with saved queries
// (server/versioned/). A card shows a query only to those who may read it: the view resolves each card's query for
// the viewer and leaves out everything of a query they may not read (name, SQL, chart, result).
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../schema/database.js';
import { AuditLog, type AuditEvent } from '../audit/service.js';
import { hasRole, type SessionUser } from '../auth/guards.js';
import type { DashboardCardForRun } from '../engine/run-types.js';
import { AppError } from '../lib/errors.js';
import type { CardQuery, QueriesService } from '../queries/service.js';
import { slugify } from '../queries/slug.js';
import { dashboardNotFound, permissionsFor, requireDashboardAccess, type Permissions } from './access.js';
import { checkDashboardContent, sameDashboardContent, type DashboardContent } from './content.js';
import {
  findCardRunFacts,
  findDashboardVersion,
  insertDashboardVersion,
  listDashboards,
  type DashboardRow,
  type DashboardVersionRow,
  type ListedDashboard,
} from './repository.js';
import {
  DASHBOARD_TABLES,
  deleteEntity,
  findEntity,
  insertEntity,
  listVersions,
  recordView,
  setArchived,
  updateSettings,
  type Person,
  type VersionSummary,
  type Visibility,
} from '../versioned/repository.js';
import {
  accessFacts as facts,
  actorOf,
  canRead,
  changeable,
  contentChangeOf,
  contentToSave,
  forkName,
  missingVersion,
  requireArchived,
  requireBaseVersion,
  versionView,
  type VersionView,
  type VersionedKind,
} from '../versioned/rules.js';

export type DashboardVersionView = VersionView<DashboardContent>;
const DASHBOARD: VersionedKind = { noun: 'dashboard', notFound: dashboardNotFound };

export interface DashboardView {
  id: string;
  url: string;
  owner: Person;
  visibility: Visibility;
  locked: boolean;
  archivedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  currentVersion: number;
  forkedFrom: { dashboardId: string; version: number; name: string; url: string } | null;
  version: DashboardVersionView;
  /** Per card of the version: its query as this viewer may see it; null = no access (or gone). */
  cardQueries: Record<string, CardQuery | null>;
  permissions: Permissions;
}

export interface DashboardChange {
  baseVersion?: number;
  content?: Partial<DashboardContent>;
  visibility?: Visibility;
  locked?: boolean;
}

export function dashboardPermalink(id: string, name: string): string {
  const slug = slugify(name);
  return slug ? `/dashboards/${id}-${slug}` : `/dashboards/${id}`;
}

export class DashboardsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly queries: QueriesService,
  ) {}

  // -- reading ----------------------------------------------------------------------------------------

  async get(user: SessionUser, id: string): Promise<DashboardView> {
    const dashboard = await this.visible(user, id);
    await recordView(this.db, DASHBOARD_TABLES, user.id, id);
    return this.view(user, dashboard);
  }

  async list(
    user: SessionUser,
    options: { filter: 'all' | 'mine' | 'recent'; search?: string; archived: boolean; limit: number; offset: number },
  ): Promise<{ dashboards: Array<ListedDashboard & { url: string }>; hasMore: boolean }> {
    const { dashboards, hasMore } = await listDashboards(this.db, {
      ...options,
      viewer: { id: user.id, admin: hasRole(user, 'admin') },
    });
    return { dashboards: dashboards.map((d) => ({ ...d, url: dashboardPermalink(d.id, d.name) })), hasMore };
  }

  async versions(user: SessionUser, id: string): Promise<VersionSummary[]> {
    await this.visible(user, id);
    return listVersions(this.db, DASHBOARD_TABLES, id);
  }

  async version(user: SessionUser, id: string, version: number): Promise<DashboardVersionView> {
    await this.visible(user, id);
    const row = await findDashboardVersion(this.db, id, version);
    if (!row) throw missingVersion(DASHBOARD, id, version);
    return versionView(row);
  }

  /**
   * For POST /api/runs {queryId, dashboardId}: checks the user may read the dashboard and that the query
   * is one of its cards (the query's own access is checked by the engine's saved-query resolution, as for
   * any run), and gives the dashboard's cache max age.
   */
  async cardForRun(user: SessionUser, id: string, queryId: string): Promise<DashboardCardForRun> {
    const found = await findCardRunFacts(this.db, id, queryId);
    if (!found || !permissionsFor(user, found).read) throw dashboardNotFound(id);
    if (!found.onDashboard) throw new AppError(400, 'not_on_dashboard', `Query ${queryId} is not a card of dashboard ${id}.`);
    return { dashboardId: id, cacheMaxAgeSeconds: found.cacheMaxAgeSeconds };
  }

  // -- changing ---------------------------------------------------------------------------------------

  async create(user: SessionUser, content: DashboardContent, visibility: Visibility = 'team'): Promise<DashboardView> {
    if (!hasRole(user, 'editor')) throw new AppError(403, 'forbidden', 'Saving dashboards needs the editor role.');
    const checked = checkDashboardContent(content);
    await this.checkNewCards(user, checked, undefined);
    const id = await this.db.transaction().execute(async (trx) => {
      const id = await insertEntity(trx, DASHBOARD_TABLES, { ownerId: user.id, visibility });
      await insertDashboardVersion(trx, { dashboardId: id, version: 1, authorId: user.id, content: checked });
      await audit(trx, {
        action: 'dashboard.created',
        actor: actorOf(user),
        details: { dashboardId: id, version: 1, name: checked.name, visibility, cards: checked.cards.length },
      });
      return id;
    });
    return this.get(user, id);
  }

  async update(user: SessionUser, id: string, change: DashboardChange): Promise<DashboardView> {
    const before = await this.visible(user, id);
    const contentChange = contentChangeOf(change.content);
    const contentChanges = Object.keys(contentChange).length > 0;
    const settingsChange = change.visibility !== undefined || change.locked !== undefined;
    if (contentChanges) requireDashboardAccess(user, facts(before), 'edit');
    if (settingsChange) requireDashboardAccess(user, facts(before), 'manage');
    if (contentChanges) requireBaseVersion(change.baseVersion);
    await this.db.transaction().execute(async (trx) => {
      const dashboard = await this.lockForChange(trx, user, id);
      if (contentChanges) {
        await this.saveVersion(trx, user, dashboard, change.baseVersion!, (current) => ({ ...current, ...contentChange }), {
          action: 'dashboard.updated',
        });
      }
      if (settingsChange) {
        const visibility = change.visibility ?? dashboard.visibility;
        const locked = change.locked ?? dashboard.locked;
        if (visibility !== dashboard.visibility || locked !== dashboard.locked) {
          await updateSettings(trx, DASHBOARD_TABLES, id, { visibility, locked });
          await audit(trx, {
            action: 'dashboard.settings_changed',
            actor: actorOf(user),
            details: {
              dashboardId: id,
              ...(visibility !== dashboard.visibility ? { visibility: { from: dashboard.visibility, to: visibility } } : {}),
              ...(locked !== dashboard.locked ? { locked: { from: dashboard.locked, to: locked } } : {}),
            },
          });
        }
      }
    });
    return this.get(user, id);
  }

  async restoreVersion(user: SessionUser, id: string, version: number, baseVersion: number): Promise<DashboardView> {
    requireDashboardAccess(user, facts(await this.visible(user, id)), 'edit');
    await this.db.transaction().execute(async (trx) => {
      const dashboard = await this.lockForChange(trx, user, id);
      const old = await findDashboardVersion(trx, id, version);
      if (!old) throw missingVersion(DASHBOARD, id, version);
      await this.saveVersion(trx, user, dashboard, baseVersion, () => old.content, {
        action: 'dashboard.restored',
        restoredFrom: version,
      });
    });
    return this.get(user, id);
  }

  async fork(
    user: SessionUser,
    id: string,
    options: { name?: string; visibility?: Visibility; version?: number },
  ): Promise<DashboardView> {
    const source = await this.visible(user, id);
    requireDashboardAccess(user, facts(source), 'fork');
    const fromVersion = options.version ?? source.currentVersion;
    const original = await findDashboardVersion(this.db, id, fromVersion);
    if (!original) throw missingVersion(DASHBOARD, id, fromVersion);
    const content = checkDashboardContent({ ...original.content, name: options.name ?? forkName(original.content.name) });
    const visibility = options.visibility ?? source.visibility;
    const forkId = await this.db.transaction().execute(async (trx) => {
      const forkId = await insertEntity(trx, DASHBOARD_TABLES, {
        ownerId: user.id,
        visibility,
        forkedFrom: { id, version: fromVersion },
      });
      await insertDashboardVersion(trx, { dashboardId: forkId, version: 1, authorId: user.id, content });
      await audit(trx, {
        action: 'dashboard.forked',
        actor: actorOf(user),
        details: { dashboardId: forkId, fromDashboardId: id, fromVersion, name: content.name, visibility },
      });
      return forkId;
    });
    return this.get(user, forkId);
  }

  async archive(user: SessionUser, id: string): Promise<DashboardView> {
    requireDashboardAccess(user, facts(await this.visible(user, id)), 'archive');
    await this.db.transaction().execute(async (trx) => {
      const dashboard = await this.lockForChange(trx, user, id, { allowArchived: true });
      if (dashboard.archivedAt) return;
      await setArchived(trx, DASHBOARD_TABLES, id, user.id);
      await audit(trx, { action: 'dashboard.archived', actor: actorOf(user), details: { dashboardId: id } });
    });
    return this.get(user, id);
  }

  async unarchive(user: SessionUser, id: string): Promise<DashboardView> {
    requireDashboardAccess(user, facts(await this.visible(user, id)), 'archive');
    await this.db.transaction().execute(async (trx) => {
      const dashboard = await this.lockForChange(trx, user, id, { allowArchived: true });
      if (!dashboard.archivedAt) return;
      await setArchived(trx, DASHBOARD_TABLES, id, null);
      await audit(trx, { action: 'dashboard.unarchived', actor: actorOf(user), details: { dashboardId: id } });
    });
    return this.get(user, id);
  }

  async purge(user: SessionUser, id: string): Promise<void> {
    requireDashboardAccess(user, facts(await this.visible(user, id)), 'purge');
    await this.db.transaction().execute(async (trx) => {
      const dashboard = await this.lockForChange(trx, user, id, { allowArchived: true });
      requireArchived(DASHBOARD, dashboard);
      const current = await this.current(dashboard, trx);
      await deleteEntity(trx, DASHBOARD_TABLES, id);
      await audit(trx, {
        action: 'dashboard.purged',
        actor: actorOf(user),
        details: { dashboardId: id, name: current.content.name, versions: dashboard.currentVersion },
      });
    });
  }

  // -- internals --------------------------------------------------------------------------------------

  private async visible(user: SessionUser, id: string): Promise<DashboardRow> {
    const dashboard = await findEntity(this.db, DASHBOARD_TABLES, id);
    if (!canRead(user, dashboard)) throw dashboardNotFound(id);
    return dashboard;
  }

  private async current(dashboard: DashboardRow, db: Kysely<Database> = this.db): Promise<DashboardVersionRow> {
    const row = await findDashboardVersion(db, dashboard.id, dashboard.currentVersion);
    if (!row) throw new Error(`dashboard ${dashboard.id} points at a missing version ${dashboard.currentVersion}`);
    return row;
  }

  private async lockForChange(
    trx: Transaction<Database>,
    user: SessionUser,
    id: string,
    options: { allowArchived?: boolean } = {},
  ) {
    return changeable(DASHBOARD, user, id, await findEntity(trx, DASHBOARD_TABLES, id, { forUpdate: true }), options);
  }

  /**
   * A card added by this save must be over a query its author may read: a dashboard is no way to show
   * others a query one cannot see oneself. Cards already there stay, whoever saves.
   */
  private async checkNewCards(user: SessionUser, content: DashboardContent, previous: DashboardContent | undefined) {
    const known = new Set(previous?.cards.map((card) => `${card.queryId}@${card.queryVersion ?? ''}`) ?? []);
    for (const card of content.cards) {
      if (known.has(`${card.queryId}@${card.queryVersion ?? ''}`)) continue;
      const query = await this.queries.cardQuery(user, card.queryId, card.queryVersion);
      if (!query)
        throw new AppError(
          404,
          'not_found',
          `There is no query ${card.queryId}${card.queryVersion ? ` version ${card.queryVersion}` : ''}, or it is private.`,
          {
            field: 'cards',
          },
        );
    }
  }

  private async saveVersion(
    trx: Transaction<Database>,
    user: SessionUser,
    dashboard: DashboardRow,
    baseVersion: number,
    nextContent: (current: DashboardContent) => DashboardContent,
    options: { action: 'dashboard.updated' | 'dashboard.restored'; restoredFrom?: number },
  ): Promise<void> {
    requireDashboardAccess(user, facts(dashboard), 'edit');
    const current = await this.current(dashboard, trx);
    const content = contentToSave(
      current,
      baseVersion,
      checkDashboardContent(nextContent(current.content)),
      sameDashboardContent,
    );
    if (!content) return;
    await this.checkNewCards(user, content, current.content);
    const version = dashboard.currentVersion + 1;
    await insertDashboardVersion(trx, {
      dashboardId: dashboard.id,
      version,
      authorId: user.id,
      content,
      restoredFrom: options.restoredFrom,
    });
    await audit(trx, {
      action: options.action,
      actor: actorOf(user),
      details: {
        dashboardId: dashboard.id,
        version,
        fromVersion: baseVersion,
        ...(options.restoredFrom ? { restoredFrom: options.restoredFrom } : {}),
        name: content.name,
      },
    });
  }

  private async view(user: SessionUser, dashboard: DashboardRow): Promise<DashboardView> {
    const current = await this.current(dashboard);
    let forkedFrom: DashboardView['forkedFrom'] = null;
    if (dashboard.forkedFromId && dashboard.forkedFromVersion) {
      const parent = await findEntity(this.db, DASHBOARD_TABLES, dashboard.forkedFromId);
      if (canRead(user, parent)) {
        const name = (await this.current(parent)).content.name;
        forkedFrom = {
          dashboardId: parent.id,
          version: dashboard.forkedFromVersion,
          name,
          url: dashboardPermalink(parent.id, name),
        };
      }
    }
    const cardQueries: Record<string, CardQuery | null> = {};
    await Promise.all(
      current.content.cards.map(async (card) => {
        cardQueries[card.id] = (await this.queries.cardQuery(user, card.queryId, card.queryVersion)) ?? null;
      }),
    );
    return {
      id: dashboard.id,
      url: dashboardPermalink(dashboard.id, current.content.name),
      owner: dashboard.owner,
      visibility: dashboard.visibility,
      locked: dashboard.locked,
      archivedAt: dashboard.archivedAt,
      createdAt: dashboard.createdAt,
      updatedAt: dashboard.updatedAt,
      currentVersion: dashboard.currentVersion,
      forkedFrom,
      version: versionView(current),
      cardQueries,
      permissions: permissionsFor(user, facts(dashboard)),
    };
  }
}

function audit(trx: Transaction<Database>, event: AuditEvent): Promise<string> {
  return new AuditLog(trx).record(event);
}
