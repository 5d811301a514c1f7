// Saved queries: the rules. Every public method checks access first (access.ts), then works in one
// transaction that also appends the audit event, so a change and its audit row commit together or not
// at all. Saves are optimistic: each names the version it was based on, and a save based on anything
// but the current version is refused with 409 and the current version, never applied over it. Those
// rules are shared with dashboards (server/versioned/); what is a query's own (data sources, SQL, the
// result cache, search, refused reads audited) stays here.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../schema/database.js';
import { AuditLog, type AuditEvent } from '../audit/service.js';
import { hasRole, type SessionUser } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import { notFound, permissionsFor, requireAccess, type Permissions } from './access.js';
import { checkContent, sameContent, type QueryContent, type VariableDeclaration } from './content.js';
import {
  currentName,
  findQuery,
  findQueryForRun,
  findVersion,
  insertVersion,
  refreshSearch,
  setCacheMaxAge,
  setCurrentVersion,
  type Person,
  type QueryRow,
  type VersionSummary,
} from './repository.js';
import {
  listForks,
  listQueries,
  tagCounts,
  trigramAvailable,
  type ListedQuery,
  type ListFilter,
  type Viewer,
} from './search.repository.js';
import { permalink } from './slug.js';
import {
  QUERY_TABLES,
  deleteEntity,
  insertEntity,
  listVersions,
  recordView,
  setArchived,
  updateSettings,
  type Visibility,
} from '../versioned/repository.js';
import {
  accessFacts,
  actorOf,
  changeable,
  contentChangeOf,
  contentToSave,
  forkName,
  missingVersion,
  requireArchived,
  requireBaseVersion,
  versionView,
  type VersionView as SharedVersionView,
  type VersionedKind,
} from '../versioned/rules.js';

export type { Visibility };
export type VersionView = SharedVersionView<QueryContent>;

const QUERY: VersionedKind = { noun: 'query', notFound };

export interface QueryView {
  id: string;
  url: string;
  owner: Person;
  visibility: Visibility;
  locked: boolean;
  archivedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  currentVersion: number;
  /** Runs of this query may be answered from results at most this old (the result cache); 0 = off. */
  cacheMaxAgeSeconds: number;
  /** Lineage; null also when the parent is gone or the reader may not see it. */
  forkedFrom: { queryId: string; version: number; name: string; url: string } | null;
  forks: Array<{ id: string; name: string; url: string; owner: Person; fromVersion: number | null }>;
  version: VersionView;
  permissions: Permissions;
}

export interface QueryChange {
  /** The version the editor started from; needed whenever the content changes. */
  baseVersion?: number;
  content?: Partial<QueryContent>;
  visibility?: Visibility;
  locked?: boolean;
  cacheMaxAgeSeconds?: number;
}

/** What a dashboard card shows of a query its viewer may read (nothing at all otherwise). */
export interface CardQuery {
  id: string;
  url: string;
  name: string;
  version: number;
  currentVersion: number;
  dataSource: string;
  variables: VariableDeclaration[];
  chart: unknown;
}

/** A saved query resolved for the engine: the stored SQL is what runs (THREATS.md 27). */
export interface QueryForRun {
  id: string;
  version: number;
  name: string;
  dataSource: string;
  sql: string;
  variables: VariableDeclaration[];
  cacheMaxAgeSeconds: number;
}

/** What a caller tried to do with a query by id, as recorded when it is refused. */
export type QueryAttempt = 'read' | 'read_versions' | 'run' | 'fork' | 'edit' | 'archive' | 'purge';

/** Whether this user may save a query against this data source. */
export type DataSourceCheck = (user: SessionUser, dataSource: string) => boolean;

const viewerOf = (user: SessionUser): Viewer => ({ id: user.id, admin: hasRole(user, 'admin') });

export class QueriesService {
  private trigram?: Promise<boolean>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly canUseDataSource: DataSourceCheck,
    /** Deletes a purged query's stored results (the result store); its foreign key cascades as well. */
    private readonly purgeResults: (queryId: string) => Promise<unknown> = async () => undefined,
  ) {}

  // -- reading ----------------------------------------------------------------------------------------

  async get(user: SessionUser, id: string, clientIp?: string): Promise<QueryView> {
    const query = await this.visible(user, id, 'read', clientIp);
    await recordView(this.db, QUERY_TABLES, user.id, id);
    return this.view(user, query);
  }

  async versions(user: SessionUser, id: string, clientIp?: string): Promise<VersionSummary[]> {
    await this.visible(user, id, 'read_versions', clientIp);
    return listVersions(this.db, QUERY_TABLES, id);
  }

  async version(user: SessionUser, id: string, version: number, clientIp?: string): Promise<VersionView> {
    await this.visible(user, id, 'read_versions', clientIp);
    const row = await findVersion(this.db, id, version);
    if (!row) throw missingVersion(QUERY, id, version);
    return versionView(row);
  }

  async list(
    user: SessionUser,
    options: { filter: ListFilter; search?: string; tag?: string; archived: boolean; limit: number; offset: number },
  ): Promise<{ queries: Array<ListedQuery & { url: string }>; hasMore: boolean; tags?: Array<{ tag: string; count: number }> }> {
    const viewer = viewerOf(user);
    this.trigram ??= trigramAvailable(this.db);
    const search = options.search?.trim() || undefined;
    const { queries, hasMore } = await listQueries(this.db, { ...options, search, viewer, trigram: await this.trigram });
    const tags = options.offset === 0 ? await tagCounts(this.db, viewer) : undefined;
    return { queries: queries.map((q) => ({ ...q, url: permalink(q.id, q.name) })), hasMore, ...(tags ? { tags } : {}) };
  }

  /** For POST /api/runs {queryId}: access first, then the stored SQL of the version asked for. */
  async forRun(user: SessionUser, id: string, version?: number, clientIp?: string): Promise<QueryForRun> {
    // The query and its version in one read; nothing of the version is used before access is checked.
    const found = await findQueryForRun(this.db, id, version);
    const query = await this.readable(user, id, found?.query, 'run', clientIp);
    requireAccess(user, accessFacts(query), 'run');
    const row = found?.version;
    if (!row) throw missingVersion(QUERY, id, version ?? query.currentVersion);
    return {
      id,
      version: row.version,
      name: row.name,
      dataSource: row.dataSource,
      sql: row.sql,
      variables: row.variables,
      cacheMaxAgeSeconds: query.cacheMaxAgeSeconds,
    };
  }

  /**
   * For a dashboard card: the query's name, chart and variables when this user may read it, undefined
   * when not (or when it or the pinned version is gone), so the card says "no access" and nothing more.
   */
  async cardQuery(user: SessionUser, id: string, version?: number | null): Promise<CardQuery | undefined> {
    const query = await findQuery(this.db, id);
    if (!query || !permissionsFor(user, accessFacts(query)).read) return undefined;
    const row = await findVersion(this.db, id, version ?? query.currentVersion);
    if (!row) return undefined;
    return {
      id,
      url: permalink(id, row.content.name),
      name: row.content.name,
      version: row.version,
      currentVersion: query.currentVersion,
      dataSource: row.content.dataSource,
      variables: row.content.variables,
      chart: row.content.chart,
    };
  }

  // -- changing ---------------------------------------------------------------------------------------

  async create(user: SessionUser, content: QueryContent, visibility: Visibility = 'team'): Promise<QueryView> {
    if (!hasRole(user, 'editor')) throw new AppError(403, 'forbidden', 'Saving queries needs the editor role; you are a viewer.');
    const checked = checkContent(content);
    this.checkDataSource(user, checked.dataSource);
    const id = await this.db.transaction().execute(async (trx) => {
      const id = await insertEntity(trx, QUERY_TABLES, { ownerId: user.id, visibility });
      await insertVersion(trx, { queryId: id, version: 1, authorId: user.id, content: checked });
      await refreshSearch(trx, id);
      await audit(trx, {
        action: 'query.created',
        actor: actorOf(user),
        queryId: id,
        queryVersion: 1,
        dataSource: checked.dataSource,
        details: { name: checked.name, visibility },
      });
      return id;
    });
    return this.get(user, id);
  }

  /**
   * Saves a new version (when the content changed) and/or the settings. Content changes need the base
   * version; settings alone do not, since they cannot lose anyone's edit.
   */
  async update(user: SessionUser, id: string, change: QueryChange, clientIp?: string): Promise<QueryView> {
    const before = await this.visible(user, id, 'edit', clientIp);
    const contentChange = contentChangeOf(change.content);
    const contentChanges = Object.keys(contentChange).length > 0;
    const settingsChange =
      change.visibility !== undefined || change.locked !== undefined || change.cacheMaxAgeSeconds !== undefined;
    if (contentChanges) requireAccess(user, accessFacts(before), 'edit');
    if (settingsChange) requireAccess(user, accessFacts(before), 'manage');
    if (contentChanges) requireBaseVersion(change.baseVersion);

    await this.db.transaction().execute(async (trx) => {
      const query = await this.lockForChange(trx, user, id);
      if (contentChanges) {
        await this.saveVersion(trx, user, query, change.baseVersion!, (current) => ({ ...current, ...contentChange }), {
          action: 'query.updated',
        });
      }
      if (settingsChange) {
        const visibility = change.visibility ?? query.visibility;
        const locked = change.locked ?? query.locked;
        const cacheMaxAgeSeconds = change.cacheMaxAgeSeconds ?? query.cacheMaxAgeSeconds;
        if (cacheMaxAgeSeconds !== query.cacheMaxAgeSeconds) {
          await setCacheMaxAge(trx, id, cacheMaxAgeSeconds);
          await audit(trx, {
            action: 'query.visibility_changed',
            actor: actorOf(user),
            queryId: id,
            details: { cacheMaxAgeSeconds: { from: query.cacheMaxAgeSeconds, to: cacheMaxAgeSeconds } },
          });
        }
        if (visibility !== query.visibility || locked !== query.locked) {
          await updateSettings(trx, QUERY_TABLES, id, { visibility, locked });
          await audit(trx, {
            action: 'query.visibility_changed',
            actor: actorOf(user),
            queryId: id,
            details: {
              ...(visibility !== query.visibility ? { visibility: { from: query.visibility, to: visibility } } : {}),
              ...(locked !== query.locked ? { locked: { from: query.locked, to: locked } } : {}),
            },
          });
        }
      }
    });
    return this.get(user, id);
  }

  /** Restore = a new version with an old version's content; history only ever grows. */
  async restoreVersion(
    user: SessionUser,
    id: string,
    version: number,
    baseVersion: number,
    clientIp?: string,
  ): Promise<QueryView> {
    requireAccess(user, accessFacts(await this.visible(user, id, 'edit', clientIp)), 'edit');
    await this.db.transaction().execute(async (trx) => {
      const query = await this.lockForChange(trx, user, id);
      const old = await findVersion(trx, id, version);
      if (!old) throw missingVersion(QUERY, id, version);
      await this.saveVersion(trx, user, query, baseVersion, () => old.content, {
        action: 'query.restored',
        restoredFrom: version,
        skipDataSourceCheck: true,
      });
    });
    return this.get(user, id);
  }

  async fork(
    user: SessionUser,
    id: string,
    options: { name?: string; visibility?: Visibility; version?: number },
    clientIp?: string,
  ): Promise<QueryView> {
    const source = await this.visible(user, id, 'fork', clientIp);
    requireAccess(user, accessFacts(source), 'fork');
    const fromVersion = options.version ?? source.currentVersion;
    const original = await findVersion(this.db, id, fromVersion);
    if (!original) throw missingVersion(QUERY, id, fromVersion);
    const content = checkContent({ ...original.content, name: options.name ?? forkName(original.content.name) });
    // A fork of a private query stays private unless its new owner says otherwise.
    const visibility = options.visibility ?? source.visibility;
    const forkId = await this.db.transaction().execute(async (trx) => {
      const forkId = await insertEntity(trx, QUERY_TABLES, {
        ownerId: user.id,
        visibility,
        forkedFrom: { id, version: fromVersion },
      });
      await insertVersion(trx, { queryId: forkId, version: 1, authorId: user.id, content });
      await refreshSearch(trx, forkId);
      await audit(trx, {
        action: 'query.forked',
        actor: actorOf(user),
        queryId: forkId,
        queryVersion: 1,
        dataSource: content.dataSource,
        details: { fromQueryId: id, fromVersion, name: content.name, visibility },
      });
      return forkId;
    });
    return this.get(user, forkId);
  }

  async archive(user: SessionUser, id: string, clientIp?: string): Promise<QueryView> {
    requireAccess(user, accessFacts(await this.visible(user, id, 'archive', clientIp)), 'archive');
    await this.db.transaction().execute(async (trx) => {
      const query = await this.lockForChange(trx, user, id, { allowArchived: true });
      if (query.archivedAt) return;
      await setArchived(trx, QUERY_TABLES, id, user.id);
      await audit(trx, { action: 'query.archived', actor: actorOf(user), queryId: id, queryVersion: query.currentVersion });
    });
    return this.get(user, id);
  }

  async unarchive(user: SessionUser, id: string, clientIp?: string): Promise<QueryView> {
    requireAccess(user, accessFacts(await this.visible(user, id, 'archive', clientIp)), 'archive');
    await this.db.transaction().execute(async (trx) => {
      const query = await this.lockForChange(trx, user, id, { allowArchived: true });
      if (!query.archivedAt) return;
      await setArchived(trx, QUERY_TABLES, id, null);
      await audit(trx, {
        action: 'query.restored',
        actor: actorOf(user),
        queryId: id,
        queryVersion: query.currentVersion,
        details: { unarchived: true },
      });
    });
    return this.get(user, id);
  }

  /** Deletes an archived query and all its versions for good (admins only; the audit log keeps its trail). */
  async purge(user: SessionUser, id: string, clientIp?: string): Promise<void> {
    requireAccess(user, accessFacts(await this.visible(user, id, 'purge', clientIp)), 'purge');
    await this.db.transaction().execute(async (trx) => {
      const query = await this.lockForChange(trx, user, id, { allowArchived: true });
      requireArchived(QUERY, query);
      const name = await currentName(trx, id);
      await deleteEntity(trx, QUERY_TABLES, id);
      await audit(trx, {
        action: 'query.purged',
        actor: actorOf(user),
        queryId: id,
        queryVersion: query.currentVersion,
        details: { name, versions: query.currentVersion },
      });
    });
    await this.purgeResults(id);
  }

  // -- internals --------------------------------------------------------------------------------------

  /**
   * The query if this user may see it; otherwise the same 404 as for a query that does not exist. Every
   * path that reaches a query by id (read, versions, run, fork, changes) comes through here, so this is
   * where a refusal is audited (THREATS.md 51): the id asked for and what was attempted. Missing ids are
   * recorded the same way, so the response's content and timing say nothing about existence.
   */
  private async visible(user: SessionUser, id: string, attempted: QueryAttempt, clientIp?: string): Promise<QueryRow> {
    return this.readable(user, id, await findQuery(this.db, id), attempted, clientIp);
  }

  /** The query as found, if this user may read it; otherwise the attempt is audited and answered 404. */
  private async readable(
    user: SessionUser,
    id: string,
    query: QueryRow | undefined,
    attempted: QueryAttempt,
    clientIp?: string,
  ): Promise<QueryRow> {
    if (query && permissionsFor(user, accessFacts(query)).read) return query;
    await new AuditLog(this.db).record({
      action: 'query.access_denied',
      actor: actorOf(user),
      outcome: 'denied',
      errorCode: 'not_found',
      queryId: id,
      clientIp,
      details: { attempted, exists: query !== undefined },
    });
    throw notFound(id);
  }

  /** Locks the row and re-checks access on what is true now (a lock may have landed meanwhile). */
  private async lockForChange(
    trx: Transaction<Database>,
    user: SessionUser,
    id: string,
    options: { allowArchived?: boolean } = {},
  ) {
    return changeable(QUERY, user, id, await findQuery(trx, id, { forUpdate: true }), options);
  }

  private async saveVersion(
    trx: Transaction<Database>,
    user: SessionUser,
    query: QueryRow,
    baseVersion: number,
    nextContent: (current: QueryContent) => QueryContent,
    options: { action: 'query.updated' | 'query.restored'; restoredFrom?: number; skipDataSourceCheck?: boolean },
  ): Promise<void> {
    requireAccess(user, accessFacts(query), 'edit');
    const current = await findVersion(trx, query.id, query.currentVersion);
    if (!current) throw new Error(`query ${query.id} points at a missing version ${query.currentVersion}`);
    const content = contentToSave(current, baseVersion, checkContent(nextContent(current.content)), sameContent);
    if (!content) return; // nothing changed (or the same change was saved already)
    if (content.dataSource !== current.content.dataSource && !options.skipDataSourceCheck)
      this.checkDataSource(user, content.dataSource);
    const version = query.currentVersion + 1;
    await insertVersion(trx, { queryId: query.id, version, authorId: user.id, content, restoredFrom: options.restoredFrom });
    await setCurrentVersion(trx, query.id, version);
    await audit(trx, {
      action: options.action,
      actor: actorOf(user),
      queryId: query.id,
      queryVersion: version,
      dataSource: content.dataSource,
      details: {
        fromVersion: baseVersion,
        ...(options.restoredFrom ? { restoredFrom: options.restoredFrom } : {}),
        name: content.name,
      },
    });
  }

  private checkDataSource(user: SessionUser, dataSource: string): void {
    if (!this.canUseDataSource(user, dataSource))
      throw new AppError(400, 'invalid_request', `There is no data source "${dataSource}".`, { field: 'dataSource' });
  }

  private async view(user: SessionUser, query: QueryRow): Promise<QueryView> {
    const current = await findVersion(this.db, query.id, query.currentVersion);
    if (!current) throw new Error(`query ${query.id} points at a missing version ${query.currentVersion}`);
    let forkedFrom: QueryView['forkedFrom'] = null;
    if (query.forkedFromId && query.forkedFromVersion) {
      const parent = await findQuery(this.db, query.forkedFromId);
      if (parent && permissionsFor(user, accessFacts(parent)).read) {
        const name = (await currentName(this.db, parent.id)) ?? '';
        forkedFrom = { queryId: parent.id, version: query.forkedFromVersion, name, url: permalink(parent.id, name) };
      }
    }
    const forks = await listForks(this.db, query.id, viewerOf(user));
    return {
      id: query.id,
      url: permalink(query.id, current.content.name),
      owner: query.owner,
      visibility: query.visibility,
      locked: query.locked,
      archivedAt: query.archivedAt,
      createdAt: query.createdAt,
      updatedAt: query.updatedAt,
      currentVersion: query.currentVersion,
      cacheMaxAgeSeconds: query.cacheMaxAgeSeconds,
      forkedFrom,
      forks: forks.map((fork) => ({ ...fork, url: permalink(fork.id, fork.name) })),
      version: versionView(current),
      permissions: permissionsFor(user, accessFacts(query)),
    };
  }
}

/** Appends the event inside the caller's transaction: the change and its audit row commit together. */
function audit(trx: Transaction<Database>, event: AuditEvent): Promise<string> {
  return new AuditLog(trx).record(event);
}
