// Query pages in the URL: the list's filters (?q=&filter=&tag=&archived=true) both ways, and variable
// values added to a page's address.
import type { ListFilter } from './api';

export interface ListParams {
  search: string;
  filter: ListFilter;
  tag: string;
  archived: boolean;
}

const FILTERS: ListFilter[] = ['all', 'mine', 'recent'];

export function readListParams(search: string): ListParams {
  const params = new URLSearchParams(search);
  const filter = params.get('filter') as ListFilter | null;
  return {
    search: params.get('q') ?? '',
    filter: filter && FILTERS.includes(filter) ? filter : 'all',
    tag: params.get('tag') ?? '',
    archived: params.get('archived') === 'true',
  };
}

export function writeListParams(list: ListParams): string {
  const params = new URLSearchParams();
  if (list.search.trim()) params.set('q', list.search.trim());
  if (list.filter !== 'all') params.set('filter', list.filter);
  if (list.tag) params.set('tag', list.tag);
  if (list.archived) params.set('archived', 'true');
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** `href` with these values set as search parameters (scalars only: lists have no one URL form). */
export function withSearchParams(href: string, values: Record<string, unknown>): string {
  const url = new URL(href);
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      url.searchParams.set(name, String(value));
  }
  return url.toString();
}
