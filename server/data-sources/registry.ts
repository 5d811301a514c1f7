// The main databases Porthole reads: one bounded pool per source. The engine (server/engine) is the only
// code that runs user SQL on these pools.
import pg from 'pg';
import type { Config } from '../config.js';

export interface DataSource {
  id: string;
  name: string;
  pool: pg.Pool;
}

export class DataSourceRegistry {
  private readonly sources = new Map<string, DataSource>();

  constructor(sources: DataSource[]) {
    for (const source of sources) this.sources.set(source.id, source);
  }

  list(): DataSource[] {
    return [...this.sources.values()];
  }

  get(id: string): DataSource | undefined {
    return this.sources.get(id);
  }

  async close(): Promise<void> {
    await Promise.all(this.list().map((source) => source.pool.end()));
  }
}

export function createSourcePool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, application_name: 'porthole', connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined); // see connectToolsDb: an idle client's lost connection must not crash us
  return pool;
}

export function createDataSourceRegistry(config: Config): DataSourceRegistry {
  const sources: DataSource[] = [];
  if (config.mainDatabaseUrl)
    sources.push({ id: 'main', name: 'Main database', pool: createSourcePool(config.mainDatabaseUrl, 10) });
  return new DataSourceRegistry(sources);
}
