// The dashboard API (server/dashboards/routes.ts) as the web app calls it, and a card's run
// (POST /api/runs {queryId, params, dashboardId}).
import { api } from '../../lib/api';
import type { RunResult } from '../../lib/grid/result';

// The types are the server's TypeBox schemas (type-only imports): one contract, never mirrored by hand.
import type { DashboardResponse, DashboardVersionResponse, ListedDashboardResponse } from '../../../../server/dashboards/schemas';

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
  runCard: (
    body: { queryId: string; queryVersion?: number; params: Record<string, unknown>; dashboardId?: string; refresh?: boolean },
    signal?: AbortSignal,
  ) => api<CardRun>('/api/runs', { method: 'POST', body, signal }),
};

/** "/dashboards/12-ops-health" -> "12" */
export function dashboardIdFromPath(path: string): string | undefined {
  return /^\/dashboards\/([0-9]{1,18})(?:-[a-z0-9-]*)?$/.exec(path)?.[1];
}
