// Who may do what with a dashboard: the same table of rules as saved queries (server/queries/access.ts),
// including the 404-not-403 for a private dashboard and admins seeing everything, with its own messages.
import type { SessionUser } from '../auth/guards.js';
import { AppError } from '../lib/errors.js';
import { permissionsFor, type AccessFacts, type Permissions, type QueryAction } from '../queries/access.js';

export { permissionsFor, type Permissions };
export type DashboardAction = QueryAction;

const REFUSALS: Record<Exclude<DashboardAction, 'read' | 'run'>, string> = {
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
  const permissions = permissionsFor(user, dashboard);
  if (!permissions.read) throw dashboardNotFound(dashboard.id);
  if (!permissions[action]) throw new AppError(403, 'forbidden', REFUSALS[action as keyof typeof REFUSALS]);
  return permissions;
}
