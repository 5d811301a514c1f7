// The rules every versioned entity (saved query, dashboard) follows, written once for the services:
// - history only grows: a save or a restore adds a version; nothing rewrites one;
// - saves are optimistic: each names the version it was based on, and a save based on anything but the
//   current version is refused with 409 version_conflict and the current version, never applied over it;
//   a save that changes nothing is no version at all;
// - one that cannot be read answers 404 (as if it did not exist), whoever asks, admins included;
// - an archived one is read-only until unarchived (409 <noun>_archived), and only an archived one may be
//   purged (409 not_archived).
// The services keep their own content checks, audit events and extra rules (data sources, cards).
import type { SessionUser } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import { permissionsFor } from './access.js';
import type { EntityRow, Person, VersionHeader, VersionRow } from './repository.js';

/** One kind of versioned entity, as its messages and error codes name it. */
export interface VersionedKind {
  noun: 'query' | 'dashboard';
  notFound: (id: string) => AppError;
}

export type VersionView<Content> = VersionHeader & Content;

export const versionView = <Content extends object>(row: VersionRow<Content>): VersionView<Content> => ({
  version: row.version,
  author: row.author,
  createdAt: row.createdAt,
  restoredFrom: row.restoredFrom,
  ...row.content,
});

/** Dates as ISO strings: the 409's details bypass the route's response schema. */
export function serialiseVersion<View extends { createdAt: Date }>(
  version: View,
): Omit<View, 'createdAt'> & { createdAt: string } {
  return { ...version, createdAt: version.createdAt.toISOString() };
}

export const personName = (person: Person): string => person.name ?? person.email ?? `User ${person.id}`;

export const actorOf = (user: SessionUser) => ({ id: user.id, email: user.email });

export const accessFacts = (row: EntityRow) => ({
  id: row.id,
  ownerId: row.owner.id,
  visibility: row.visibility,
  locked: row.locked,
});

export const canRead = (user: SessionUser, row: EntityRow | undefined): row is EntityRow =>
  row !== undefined && permissionsFor(user, accessFacts(row)).read;

const capitalised = (noun: string) => noun[0]!.toUpperCase() + noun.slice(1);

export function missingVersion(kind: VersionedKind, id: string, version: number): AppError {
  return new AppError(404, 'not_found', `${capitalised(kind.noun)} ${id} has no version ${version}.`);
}

/** The fields a change sets (those given as undefined set nothing). */
export function contentChangeOf<Content extends object>(content: Partial<Content> | undefined): Partial<Content> {
  return Object.fromEntries(Object.entries(content ?? {}).filter(([, value]) => value !== undefined)) as Partial<Content>;
}

/** Content changes need the version they were based on; settings alone do not, since they cannot lose anyone's edit. */
export function requireBaseVersion(baseVersion: number | undefined): asserts baseVersion is number {
  if (baseVersion === undefined)
    throw new AppError(400, 'invalid_request', 'Say which version your changes are based on (baseVersion).', {
      field: 'baseVersion',
    });
}

/**
 * The row just locked for a change, re-checked on what is true now (a lock or a visibility change may
 * have landed meanwhile): 404 when it is gone or not readable, 409 when archived (unless allowed).
 */
export function changeable<Row extends EntityRow>(
  kind: VersionedKind,
  user: SessionUser,
  id: string,
  row: Row | undefined,
  options: { allowArchived?: boolean } = {},
): Row {
  if (!canRead(user, row)) throw kind.notFound(id);
  if (row.archivedAt && !options.allowArchived)
    throw new AppError(409, `${kind.noun}_archived`, `This ${kind.noun} is archived; unarchive it before changing it.`);
  return row;
}

export function requireArchived(kind: VersionedKind, row: EntityRow): void {
  if (!row.archivedAt) throw new AppError(409, 'not_archived', `Archive the ${kind.noun} before deleting it for good.`);
}

/**
 * The optimistic save: the content to store as the next version, or undefined when it is the same as the
 * current one (nothing changed, or the same change was saved already); 409 with the current version when
 * the save was based on an older one.
 */
export function contentToSave<Content extends object>(
  current: VersionRow<Content>,
  baseVersion: number,
  next: Content,
  sameContent: (a: Content, b: Content) => boolean,
): Content | undefined {
  if (sameContent(next, current.content)) return undefined;
  if (baseVersion !== current.version) {
    throw new AppError(
      409,
      'version_conflict',
      `${personName(current.author)} saved version ${current.version} after the version ${baseVersion} you started from. ` +
        'Compare the two, then save again based on the current version or discard your change.',
      { currentVersion: serialiseVersion(versionView(current)) },
    );
  }
  return next;
}

/** A fork's name unless its author gave one. */
export const forkName = (name: string): string => `${name} (fork)`.slice(0, 200);
