// The audit page's filters as query strings: the page URL keeps what the user typed (shareable), the API
// gets ISO instants for the time range.
export const FILTER_KEYS = [
  'actor',
  'action',
  'dataSource',
  'tier',
  'queryId',
  'queryVersion',
  'outcome',
  'from',
  'to',
  'q',
] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type AuditFilters = Partial<Record<FilterKey, string>>;

export function filtersFromSearch(search: string): AuditFilters {
  const params = new URLSearchParams(search);
  return Object.fromEntries(FILTER_KEYS.flatMap((key) => (params.get(key) ? [[key, params.get(key)!]] : [])));
}

/** For the page URL: the filters as typed, empty ones left out. */
export function pageSearch(filters: AuditFilters): string {
  return new URLSearchParams(
    FILTER_KEYS.flatMap((key) => (filters[key]?.trim() ? [[key, filters[key]!.trim()]] : [])),
  ).toString();
}

/** For the API: local date-times become ISO instants; `extra` adds e.g. the cursor. */
export function apiSearch(filters: AuditFilters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(extra);
  for (const key of FILTER_KEYS) {
    const value = filters[key]?.trim();
    if (value) params.set(key, key === 'from' || key === 'to' ? new Date(value).toISOString() : value);
  }
  return params.toString();
}
