// Who may do what with a saved query: the shared rules of versioned entities (server/versioned/access.ts)
// with the query's own words for a refusal and for the 404.
import { hasRole, type SessionUser } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import {
  permissionsFor,
  requireAccessWith,
  type AccessFacts,
  type Permissions,
  type RefusableAction,
  type VersionedAction,
} from '../versioned/access.js';

export { permissionsFor, type AccessFacts, type Permissions };
export type QueryAction = VersionedAction;

const REFUSALS: Record<Exclude<RefusableAction, 'edit'>, string> = {
  fork: 'Forking needs the editor role; you are a viewer.',
  archive: 'Only the owner of this query or an admin can archive or unarchive it.',
  manage: 'Only the owner of this query or an admin can change who can see or edit it.',
  purge: 'Only admins can delete a query for good.',
};

/** Why this user may not do this: one reason, the real one, in the same words everywhere. */
function refusal(user: SessionUser, action: RefusableAction): string {
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
  return requireAccessWith(user, query, action, { notFound, refusal: (refused) => refusal(user, refused) });
}
