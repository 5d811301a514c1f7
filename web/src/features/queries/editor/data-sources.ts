// The data sources a user may query and a source's schema (GET /api/data-sources[/:id/schema], issue #4).
import { api } from '../../../lib/api';
import type { SourceSchema } from './schema';

export interface DataSource {
  id: string;
  name: string;
  status: 'ok' | 'refused' | 'unreachable' | 'unchecked';
  maxRows: number;
}

export async function listDataSources(): Promise<DataSource[]> {
  return (await api<{ dataSources: DataSource[] }>('/api/data-sources')).dataSources;
}

const schemas = new Map<string, Promise<SourceSchema>>();

/** Cached per page load: the server caches the catalogs too, and autocomplete must not wait for them twice. */
export function loadSchema(dataSource: string): Promise<SourceSchema> {
  let pending = schemas.get(dataSource);
  if (!pending) {
    pending = api<SourceSchema>(`/api/data-sources/${encodeURIComponent(dataSource)}/schema`);
    pending.catch(() => schemas.delete(dataSource));
    schemas.set(dataSource, pending);
  }
  return pending;
}
