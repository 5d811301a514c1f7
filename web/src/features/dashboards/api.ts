// The dashboard API (server/dashboards/routes.ts) as the web app calls it, and a card's run
// (POST /api/runs {queryId, params, dashboardId}).
import { api } from '../../lib/api';
import type { RunResult } from '../../lib/grid/result';

// The types are the server's TypeBox schemas (type-only imports): one contract, never mirrored by hand.
import type {
  CardQueryVersionResponse,
  CardQueryVersionSummaryResponse,
  DashboardResponse,
  DashboardVersionResponse,
  DashboardVersionSummaryResponse,
  ListedDashboardResponse,
} from '../../../../server/dashboards/schemas';

export type DashboardView = DashboardResponse;
export type DashboardVersion = DashboardVersionResponse;
export type ListedDashboard = ListedDashboardResponse;
export type DashboardContent = Omit<DashboardVersion, 'version' | 'author' | 'createdAt' | 'restoredFrom'>;
export type Card = DashboardContent['cards'][number];
export type CardDisplay = Card['display'];
export type DashboardVariable = DashboardContent['variables'][number];
export type VariableKind = DashboardVariable['kind'];
export type CardQuery = NonNullable<DashboardView['cardQueries'][string]>;
export type Visibility = DashboardView['visibility'];
export type DashboardVersionSummary = DashboardVersionSummaryResponse;
/** A saved query's version, as a card pinned to it needs it (its variables and chart). */
export type QueryVersion = CardQueryVersionResponse;
export type QueryVersionSummary = CardQueryVersionSummaryResponse;

export interface CardRun extends RunResult {
  cached?: { runId: string; computedAt: string };
}

export const contentOf = (version: DashboardVersion): DashboardContent => ({
  name: version.name,
  description: version.description,
  variables: version.variables,
  refreshSeconds: version.refreshSeconds,
  cacheMaxAgeSeconds: version.cacheMaxAgeSeconds,
  cards: version.cards,
});

let prefetched: { id: string; view: Promise<DashboardView> } | undefined;

/**
 * Starts loading the dashboard the app opened on while the session check is still under way (one round
 * trip less before the cards start). The first get() of that id takes it; if it failed (signed out,
 * not found), get() asks again the ordinary way, which handles those answers.
 */
export function prefetchDashboard(id: string): void {
  const view = api<DashboardView>(`/api/dashboards/${id}`, { allowUnauthenticated: true });
  view.catch(() => undefined);
  prefetched = { id, view };
}

export const dashboardsApi = {
  list: (params: URLSearchParams) => api<{ dashboards: ListedDashboard[]; hasMore: boolean }>(`/api/dashboards?${params}`),
  get: (id: string): Promise<DashboardView> => {
    const early = prefetched?.id === id ? prefetched.view : undefined;
    prefetched = undefined;
    const fetchNow = () => api<DashboardView>(`/api/dashboards/${id}`);
    return early ? early.catch(fetchNow) : fetchNow();
  },
  create: (content: DashboardContent) => api<DashboardView>('/api/dashboards', { method: 'POST', body: content }),
  save: (id: string, baseVersion: number, content: DashboardContent) =>
    api<DashboardView>(`/api/dashboards/${id}`, { method: 'PUT', body: { baseVersion, ...content } }),
  /** Who may see it (team / private) and whether only its owner may save versions. */
  settings: (id: string, settings: { visibility?: Visibility; locked?: boolean }) =>
    api<DashboardView>(`/api/dashboards/${id}`, { method: 'PUT', body: settings }),
  archive: (id: string) => api<DashboardView>(`/api/dashboards/${id}`, { method: 'DELETE' }),
  unarchive: (id: string) => api<DashboardView>(`/api/dashboards/${id}/unarchive`, { method: 'POST' }),
  purge: (id: string) => api<void>(`/api/dashboards/${id}`, { method: 'DELETE', body: { purge: true } }),
  versions: (id: string) => api<{ versions: DashboardVersionSummary[] }>(`/api/dashboards/${id}/versions`),
  version: (id: string, version: number) => api<DashboardVersion>(`/api/dashboards/${id}/versions/${version}`),
  restore: (id: string, version: number, baseVersion: number) =>
    api<DashboardView>(`/api/dashboards/${id}/versions/${version}/restore`, { method: 'POST', body: { baseVersion } }),
  fork: (id: string, options: { name?: string; version?: number } = {}) =>
    api<DashboardView>(`/api/dashboards/${id}/fork`, { method: 'POST', body: options }),
  /** A card's query: its versions (to pin one) and one version's variables and chart. */
  queryVersions: (queryId: string) => api<{ versions: QueryVersionSummary[] }>(`/api/queries/${queryId}/versions`),
  queryVersion: (queryId: string, version: number) => api<QueryVersion>(`/api/queries/${queryId}/versions/${version}`),
  runCard: (
    body: { queryId: string; queryVersion?: number; params: Record<string, unknown>; dashboardId?: string; refresh?: boolean },
    signal?: AbortSignal,
  ) => api<CardRun>('/api/runs', { method: 'POST', body, signal }),
};

/** "/dashboards/12-ops-health" -> "12" */
export function dashboardIdFromPath(path: string): string | undefined {
  return /^\/dashboards\/([0-9]{1,18})(?:-[a-z0-9-]*)?$/.exec(path)?.[1];
}
