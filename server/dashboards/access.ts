// Who may do what with a dashboard: the shared rules of versioned entities (server/versioned/access.ts),
// including the 404-not-403 for a private dashboard and admins seeing everything, with its own messages.
import type { SessionUser } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import {
  permissionsFor,
  requireAccessWith,
  type AccessFacts,
  type Permissions,
  type RefusableAction,
  type VersionedAction,
} from '../versioned/access.js';

export { permissionsFor, type Permissions };
export type DashboardAction = VersionedAction;

const REFUSALS: Record<RefusableAction, string> = {
  edit: 'You cannot save changes to this dashboard: it is locked by its owner, or your role is viewer. Fork it to make your own copy.',
  fork: 'Forking needs the editor role.',
  archive: 'Only the owner of this dashboard or an admin can archive or unarchive it.',
  manage: 'Only the owner of this dashboard or an admin can change who can see or edit it.',
  purge: 'Only admins can delete a dashboard for good.',
};

export function dashboardNotFound(id: string): AppError {
  return new AppError(404, 'not_found', `There is no dashboard ${id}, or it is private.`);
}

export function requireDashboardAccess(
  user: SessionUser,
  dashboard: AccessFacts & { id: string },
  action: DashboardAction,
): Permissions {
  return requireAccessWith(user, dashboard, action, { notFound: dashboardNotFound, refusal: (refused) => REFUSALS[refused] });
}
