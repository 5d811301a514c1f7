// The dashboard API (server/dashboards/routes.ts) as the web app calls it, and a card's run
// (POST /api/runs {queryId, params, dashboardId}).
import { api } from '../../lib/api';
import type { RunResult } from '../../lib/grid/result';
import type { Person } from '../../lib/people';

export type Visibility = 'team' | 'private';
export type CardDisplay = 'chart' | 'table' | 'number';
export type VariableKind = 'text' | 'number' | 'timestamp' | 'date' | 'boolean';

export interface DashboardVariable {
  name: string;
  kind: VariableKind;
  default: string | null;
}

export interface Card {
  id: string;
  queryId: string;
  queryVersion: number | null;
  title: string | null;
  display: CardDisplay;
  x: number;
  y: number;
  w: number;
  h: number;
  variableMap: Record<string, string>;
}

export interface DashboardContent {
  name: string;
  description: string;
  variables: DashboardVariable[];
  refreshSeconds: number | null;
  cacheMaxAgeSeconds: number;
  cards: Card[];
}

export interface DashboardVersion extends DashboardContent {
  version: number;
  author: Person;
  createdAt: string;
  restoredFrom: number | null;
}

export interface CardQuery {
  id: string;
  url: string;
  name: string;
  version: number;
  currentVersion: number;
  dataSource: string;
  variables: Array<{ name: string; kind: VariableKind; multiple?: boolean }>;
  chart: unknown;
}

export interface DashboardView {
  id: string;
  url: string;
  owner: Person;
  visibility: Visibility;
  locked: boolean;
  archivedAt: string | null;
  currentVersion: number;
  version: DashboardVersion;
  cardQueries: Record<string, CardQuery | null>;
  permissions: Record<'read' | 'run' | 'edit' | 'fork' | 'archive' | 'manage' | 'purge', boolean>;
}

export interface ListedDashboard {
  id: string;
  url: string;
  name: string;
  description: string;
  owner: Person;
  visibility: Visibility;
  cardCount: number;
  updatedAt: string;
}

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

export const dashboardsApi = {
  list: (params: URLSearchParams) => api<{ dashboards: ListedDashboard[]; hasMore: boolean }>(`/api/dashboards?${params}`),
  get: (id: string) => api<DashboardView>(`/api/dashboards/${id}`),
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
