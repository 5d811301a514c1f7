// Saved queries: the rules. Every public method checks access first (access.ts), then works in one
// transaction that also appends the audit event, so a change and its audit row commit together or not
// at all. Saves are optimistic: each names the version it was based on, and a save based on anything
// but the current version is refused with 409 and the current version, never applied over it.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../schema/database.js';
import { AuditLog, type AuditEvent } from '../audit/service.js';
import { hasRole, type SessionUser } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import { notFound, permissionsFor, requireAccess, type Permissions } from './access.js';
import { checkContent, sameContent, type QueryContent, type VariableDeclaration } from './content.js';
import {
  currentName,
  deleteQuery,
  findQuery,
  findVersion,
  insertQuery,
  insertVersion,
  listVersions,
  recordView,
  refreshSearch,
  setArchived,
  setCurrentVersion,
  updateSettings,
  type Person,
  type QueryRow,
  type VersionRow,
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

export type Visibility = 'team' | 'private';

export interface VersionView extends QueryContent {
  version: number;
  author: Person;
  createdAt: Date;
  restoredFrom: number | null;
}

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

const versionView = (row: VersionRow): VersionView => ({
  version: row.version,
  author: row.author,
  createdAt: row.createdAt,
  restoredFrom: row.restoredFrom,
  ...row.content,
});

const viewerOf = (user: SessionUser): Viewer => ({ id: user.id, admin: hasRole(user, 'admin') });
const actorOf = (user: SessionUser) => ({ id: user.id, email: user.email });

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
    await recordView(this.db, user.id, id);
    return this.view(user, query);
  }

  async versions(user: SessionUser, id: string, clientIp?: string): Promise<VersionSummary[]> {
    await this.visible(user, id, 'read_versions', clientIp);
    return listVersions(this.db, id);
  }

  async version(user: SessionUser, id: string, version: number, clientIp?: string): Promise<VersionView> {
    await this.visible(user, id, 'read_versions', clientIp);
    const row = await findVersion(this.db, id, version);
    if (!row) throw new AppError(404, 'not_found', `Query ${id} has no version ${version}.`);
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
    const query = await this.visible(user, id, 'run', clientIp);
    requireAccess(user, accessFacts(query), 'run');
    const wanted = version ?? query.currentVersion;
    const row = await findVersion(this.db, id, wanted);
    if (!row) throw new AppError(404, 'not_found', `Query ${id} has no version ${wanted}.`);
    const { content } = row;
    return {
      id,
      version: row.version,
      name: content.name,
      dataSource: content.dataSource,
      sql: content.sql,
      variables: content.variables,
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
      const id = await insertQuery(trx, { ownerId: user.id, visibility });
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
    const contentChange = Object.fromEntries(
      Object.entries(change.content ?? {}).filter(([, value]) => value !== undefined),
    ) as Partial<QueryContent>;
    const contentChanges = Object.keys(contentChange).length > 0;
    const settingsChange =
      change.visibility !== undefined || change.locked !== undefined || change.cacheMaxAgeSeconds !== undefined;
    if (contentChanges) requireAccess(user, accessFacts(before), 'edit');
    if (settingsChange) requireAccess(user, accessFacts(before), 'manage');
    if (contentChanges && change.baseVersion === undefined)
      throw new AppError(400, 'invalid_request', 'Say which version your changes are based on (baseVersion).', {
        field: 'baseVersion',
      });

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
          await updateSettings(trx, id, { cache_max_age_seconds: cacheMaxAgeSeconds });
          await audit(trx, {
            action: 'query.visibility_changed',
            actor: actorOf(user),
            queryId: id,
            details: { cacheMaxAgeSeconds: { from: query.cacheMaxAgeSeconds, to: cacheMaxAgeSeconds } },
          });
        }
        if (visibility !== query.visibility || locked !== query.locked) {
          await updateSettings(trx, id, { visibility, locked });
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
      if (!old) throw new AppError(404, 'not_found', `Query ${id} has no version ${version}.`);
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
    if (!original) throw new AppError(404, 'not_found', `Query ${id} has no version ${fromVersion}.`);
    const content = checkContent({ ...original.content, name: options.name ?? `${original.content.name} (fork)`.slice(0, 200) });
    // A fork of a private query stays private unless its new owner says otherwise.
    const visibility = options.visibility ?? source.visibility;
    const forkId = await this.db.transaction().execute(async (trx) => {
      const forkId = await insertQuery(trx, { ownerId: user.id, visibility, forkedFrom: { queryId: id, version: fromVersion } });
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
      await setArchived(trx, id, user.id);
      await audit(trx, { action: 'query.archived', actor: actorOf(user), queryId: id, queryVersion: query.currentVersion });
    });
    return this.get(user, id);
  }

  async unarchive(user: SessionUser, id: string, clientIp?: string): Promise<QueryView> {
    requireAccess(user, accessFacts(await this.visible(user, id, 'archive', clientIp)), 'archive');
    await this.db.transaction().execute(async (trx) => {
      const query = await this.lockForChange(trx, user, id, { allowArchived: true });
      if (!query.archivedAt) return;
      await setArchived(trx, id, null);
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
      if (!query.archivedAt) throw new AppError(409, 'not_archived', 'Archive the query before deleting it for good.');
      const name = await currentName(trx, id);
      await deleteQuery(trx, id);
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
    const query = await findQuery(this.db, id);
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
    const query = await findQuery(trx, id, { forUpdate: true });
    if (!query || !permissionsFor(user, accessFacts(query)).read) throw notFound(id);
    if (query.archivedAt && !options.allowArchived)
      throw new AppError(409, 'query_archived', 'This query is archived; unarchive it before changing it.');
    return query;
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
    const content = checkContent(nextContent(current.content));
    if (sameContent(content, current.content)) return; // nothing changed (or the same change was saved already)
    if (baseVersion !== query.currentVersion) {
      throw new AppError(
        409,
        'version_conflict',
        `${personName(current.author)} saved version ${current.version} after the version ${baseVersion} you started from. ` +
          'Compare the two, then save again based on the current version or discard your change.',
        { currentVersion: serialiseVersion(versionView(current)) },
      );
    }
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
    if (query.forkedFromQueryId && query.forkedFromVersion) {
      const parent = await findQuery(this.db, query.forkedFromQueryId);
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

function accessFacts(query: QueryRow) {
  return { id: query.id, ownerId: query.owner.id, visibility: query.visibility, locked: query.locked };
}

function personName(person: Person): string {
  return person.name ?? person.email ?? `User ${person.id}`;
}

/** Dates as ISO strings: the 409's details bypass the route's response schema. */
export function serialiseVersion(version: VersionView): Omit<VersionView, 'createdAt'> & { createdAt: string } {
  return { ...version, createdAt: version.createdAt.toISOString() };
}

/** Appends the event inside the caller's transaction: the change and its audit row commit together. */
function audit(trx: Transaction<Database>, event: AuditEvent): Promise<string> {
  return new AuditLog(trx).record(event);
}
