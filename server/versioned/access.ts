// Who may do what with a versioned entity (a saved query, a dashboard). One table of rules, used by every
// service method before anything else, and sent to the web app so it shows only the actions that will work.
//
// - read / run: team ones by anyone signed in; private ones by the owner and admins. Anyone else gets a
//   404, never a 403, so a private one's existence does not leak (THREATS.md 38).
// - edit (save a version, restore one): editors, unless the owner locked it; owners and admins always.
// - fork: any editor who can read it.
// - archive / unarchive / manage (visibility, lock): the owner and admins.
// - purge (delete for good, archived ones only): admins.
// Each feature words its own refusals (requireAccessWith).
import { hasRole, type SessionUser } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import type { Visibility } from './repository.js';

export type VersionedAction = 'read' | 'run' | 'edit' | 'fork' | 'archive' | 'manage' | 'purge';

/** The parts of an entity that decide access. */
export interface AccessFacts {
  ownerId: string;
  visibility: Visibility;
  locked: boolean;
}

export type Permissions = Record<VersionedAction, boolean>;

export function permissionsFor(user: SessionUser, entity: AccessFacts): Permissions {
  const admin = hasRole(user, 'admin');
  const editor = hasRole(user, 'editor');
  const owner = entity.ownerId === user.id;
  const read = admin || owner || entity.visibility === 'team';
  const steward = read && editor && (owner || admin);
  return {
    read,
    run: read,
    edit: read && editor && (owner || admin || !entity.locked),
    fork: read && editor,
    archive: steward,
    manage: steward,
    purge: read && admin,
  };
}

/** An action that can be refused with a 403 (read and run are refused with the 404). */
export type RefusableAction = Exclude<VersionedAction, 'read' | 'run'>;

/** Throws 404 when the user cannot see the entity at all, 403 (with the feature's reason) when they can see it but not do this. */
export function requireAccessWith(
  user: SessionUser,
  entity: AccessFacts & { id: string },
  action: VersionedAction,
  answers: { notFound: (id: string) => AppError; refusal: (action: RefusableAction) => string },
): Permissions {
  const permissions = permissionsFor(user, entity);
  if (!permissions.read) throw answers.notFound(entity.id);
  if (!permissions[action]) throw new AppError(403, 'forbidden', answers.refusal(action as RefusableAction));
  return permissions;
}
