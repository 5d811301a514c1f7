// Who may do what with a saved query. One table of rules, used by every service method before anything
// else, and sent to the web app so it shows only the actions that will work.
//
// - read / run: team queries by anyone signed in; private ones by the owner and admins. Anyone else gets
//   a 404, never a 403, so a private query's existence does not leak (THREATS.md 38).
// - edit (save a version, restore one): editors, unless the owner locked the query; owners and admins always.
// - fork: any editor who can read it.
// - archive / unarchive / manage (visibility, lock): the owner and admins.
// - purge (delete for good, archived queries only): admins.
import { hasRole, type SessionUser } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';

export type QueryAction = 'read' | 'run' | 'edit' | 'fork' | 'archive' | 'manage' | 'purge';

/** The parts of a query that decide access. */
export interface AccessFacts {
  ownerId: string;
  visibility: 'team' | 'private';
  locked: boolean;
}

export type Permissions = Record<QueryAction, boolean>;

export function permissionsFor(user: SessionUser, query: AccessFacts): Permissions {
  const admin = hasRole(user, 'admin');
  const editor = hasRole(user, 'editor');
  const owner = query.ownerId === user.id;
  const read = admin || owner || query.visibility === 'team';
  const steward = read && editor && (owner || admin);
  return {
    read,
    run: read,
    edit: read && editor && (owner || admin || !query.locked),
    fork: read && editor,
    archive: steward,
    manage: steward,
    purge: read && admin,
  };
}

const REFUSALS: Record<Exclude<QueryAction, 'read' | 'run' | 'edit'>, string> = {
  fork: 'Forking needs the editor role; you are a viewer.',
  archive: 'Only the owner of this query or an admin can archive or unarchive it.',
  manage: 'Only the owner of this query or an admin can change who can see or edit it.',
  purge: 'Only admins can delete a query for good.',
};

/** Why this user may not do this: one reason, the real one, in the same words everywhere. */
function refusal(user: SessionUser, action: Exclude<QueryAction, 'read' | 'run'>): string {
  if (action !== 'edit') return REFUSALS[action];
  // A viewer cannot fork either, so forking is suggested only to editors (the lock is the reason then).
  return hasRole(user, 'editor')
    ? 'This query is locked by its owner: fork it to make your own copy.'
    : 'Saving queries needs the editor role; you are a viewer.';
}

export function notFound(id: string): AppError {
  return new AppError(404, 'not_found', `There is no query ${id}, or it is private.`);
}

/** Throws 404 when the user cannot see the query at all, 403 when they can see it but not do this. */
export function requireAccess(user: SessionUser, query: AccessFacts & { id: string }, action: QueryAction): Permissions {
  const permissions = permissionsFor(user, query);
  if (!permissions.read) throw notFound(query.id);
  if (!permissions[action]) throw new AppError(403, 'forbidden', refusal(user, action as Exclude<QueryAction, 'read' | 'run'>));
  return permissions;
}
