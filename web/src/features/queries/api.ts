// The saved-query API (server/queries/routes.ts) as the web app calls it.
import { api } from '../../lib/api';

export type Visibility = 'team' | 'private';
export type VariableKind = 'text' | 'number' | 'timestamp' | 'date' | 'boolean';

import type { Person } from '../../lib/people';

export type { Person };
export { personName } from '../../lib/people';

export interface VariableDeclaration {
  name: string;
  /** Absent: "auto", by naming conventions and value. */
  kind?: VariableKind;
  multiple?: boolean;
  /** A saved query whose rows (value, label) fill this variable's dropdown. */
  optionsQueryId?: string;
  /** The value used when a link or run gives none; dates and timestamps may be relative (today-29d). */
  default?: string;
}

/** What one version holds, and what a save sends. */
export interface QueryContent {
  name: string;
  description: string;
  tags: string[];
  dataSource: string;
  sql: string;
  variables: VariableDeclaration[];
  chart: Record<string, unknown> | null;
}

export interface VersionView extends QueryContent {
  version: number;
  author: Person;
  createdAt: string;
  restoredFrom: number | null;
}

export interface VersionSummary {
  version: number;
  name: string;
  author: Person;
  createdAt: string;
  restoredFrom: number | null;
}

export type QueryAction = 'read' | 'run' | 'edit' | 'fork' | 'archive' | 'manage' | 'purge';

export interface QueryView {
  id: string;
  url: string;
  owner: Person;
  visibility: Visibility;
  locked: boolean;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
  currentVersion: number;
  forkedFrom: { queryId: string; version: number; name: string; url: string } | null;
  forks: Array<{ id: string; name: string; url: string; owner: Person; fromVersion: number | null }>;
  version: VersionView;
  permissions: Record<QueryAction, boolean>;
}

export interface ListedQuery {
  id: string;
  url: string;
  name: string;
  description: string;
  tags: string[];
  dataSource: string;
  owner: Person;
  visibility: Visibility;
  locked: boolean;
  currentVersion: number;
  forkedFromQueryId: string | null;
  archivedAt: string | null;
  updatedAt: string;
  viewedAt: string | null;
  rank: number | null;
}

export type ListFilter = 'all' | 'mine' | 'recent';

export interface QueryList {
  queries: ListedQuery[];
  hasMore: boolean;
  tags?: Array<{ tag: string; count: number }>;
}

export const contentOf = (version: VersionView): QueryContent => ({
  name: version.name,
  description: version.description,
  tags: version.tags,
  dataSource: version.dataSource,
  sql: version.sql,
  variables: version.variables,
  chart: version.chart,
});

const base = (id: string) => `/api/queries/${encodeURIComponent(id)}`;

export const queriesApi = {
  list(
    options: { q?: string; filter?: ListFilter; tag?: string; archived?: boolean; limit?: number; offset?: number },
    signal?: AbortSignal,
  ) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(options))
      if (value !== undefined && value !== '' && value !== false) params.set(key, String(value));
    return api<QueryList>(`/api/queries?${params}`, { signal });
  },
  get: (id: string) => api<QueryView>(base(id)),
  create: (content: QueryContent, visibility: Visibility) =>
    api<QueryView>('/api/queries', { method: 'POST', body: { ...content, visibility } }),
  save: (id: string, baseVersion: number, content: QueryContent) =>
    api<QueryView>(base(id), { method: 'PUT', body: { baseVersion, ...content } }),
  settings: (id: string, settings: { visibility?: Visibility; locked?: boolean }) =>
    api<QueryView>(base(id), { method: 'PUT', body: settings }),
  archive: (id: string) => api<QueryView>(base(id), { method: 'DELETE' }),
  unarchive: (id: string) => api<QueryView>(`${base(id)}/unarchive`, { method: 'POST' }),
  purge: (id: string) => api<void>(base(id), { method: 'DELETE', body: { purge: true } }),
  versions: (id: string) => api<{ versions: VersionSummary[] }>(`${base(id)}/versions`),
  version: (id: string, version: number) => api<VersionView>(`${base(id)}/versions/${version}`),
  restore: (id: string, version: number, baseVersion: number) =>
    api<QueryView>(`${base(id)}/versions/${version}/restore`, { method: 'POST', body: { baseVersion } }),
  fork: (id: string, options: { name?: string; version?: number } = {}) =>
    api<QueryView>(`${base(id)}/fork`, { method: 'POST', body: options }),
};
