// The checks API for the web app; the types are the server's TypeBox schemas (type-only imports).
import { api } from '../../lib/api';
import type { CheckRunView, CheckView, DestinationView, SchedulePreview } from '../../../../server/checks/schemas';

export type { CheckRunView, CheckView, DestinationView, SchedulePreview };
export type CheckFilter = 'all' | 'failing' | 'mine';

export interface RunOutcome {
  checkRunId: string;
  state: string;
  previousState: string;
  reason: string;
  notified: boolean;
}

const base = (id: string) => `/api/checks/${encodeURIComponent(id)}`;

export const listChecks = (filter: CheckFilter, queryId?: string) =>
  api<{ checks: CheckView[] }>(`/api/checks?filter=${filter}${queryId ? `&queryId=${encodeURIComponent(queryId)}` : ''}`);
export const getCheck = (id: string) => api<CheckView>(base(id));
export const createCheck = (body: Record<string, unknown>) => api<CheckView>('/api/checks', { method: 'POST', body });
export const updateCheck = (id: string, body: Record<string, unknown>) => api<CheckView>(base(id), { method: 'PUT', body });
export const deleteCheck = (id: string) => api<void>(base(id), { method: 'DELETE' });
export const runCheck = (id: string) => api<RunOutcome>(`${base(id)}/run`, { method: 'POST' });
export const checkRuns = (id: string) => api<{ runs: CheckRunView[] }>(`${base(id)}/runs`);
export function previewSchedule(schedule: { every: string } | { cron: string; timeZone?: string }) {
  return api<SchedulePreview>(`/api/checks/schedule-preview?${new URLSearchParams(schedule)}`);
}
/** Demo mode: the email a delivery wrote to .porthole/outbox/, served as text. */
export const outboxUrl = (checkId: string, file: string) => `${base(checkId)}/outbox/${encodeURIComponent(file)}`;
export const listDestinations = () => api<{ destinations: DestinationView[] }>('/api/alert-destinations');
export const createDestination = (body: { kind: 'slack' | 'webhook'; name: string; url: string }) =>
  api<DestinationView & { secret: string | null }>('/api/alert-destinations', { method: 'POST', body });
export const testDestination = (id: string) =>
  api<{ status: string; detail: string | null }>(`/api/alert-destinations/${encodeURIComponent(id)}/test`, { method: 'POST' });

/** An ISO time this many hours from now (mute until). */
export function hoursFromNow(hours: number): string {
  return new Date(Date.now() + hours * 3_600_000).toISOString();
}

export function checkIdFromPath(path: string): string | undefined {
  return /^\/checks\/(\d{1,18})\/?$/.exec(path)?.[1];
}

/** /checks/:id/edit */
export function checkEditIdFromPath(path: string): string | undefined {
  return /^\/checks\/(\d{1,18})\/edit\/?$/.exec(path)?.[1];
}
