// The main databases Porthole reads: `main` from MAIN_DATABASE_URL plus any listed in DATA_SOURCES_FILE,
// one bounded pool each. The engine (server/engine) is the only code that runs user SQL on these pools.
import pg from 'pg';
import { withDatabaseTls } from '../db/tls.js';
import { ConfigError, type Config } from '../config.js';
import { readDataSourcesFile, type DataSourceSettings } from './config-file.js';

export interface DataSource {
  id: string;
  name: string;
  pool: pg.Pool;
  /** Timeouts, caps and the groups allowed; unset fields fall back to the engine's defaults. */
  settings?: DataSourceSettings;
}

export const DEFAULT_MAX_CONNECTIONS = 10;

function settingsOf(definition: DataSourceSettings | undefined): DataSourceSettings | undefined {
  if (!definition) return undefined;
  const { timeoutMs, maxRows, groups, maxConnections } = definition;
  return { timeoutMs, maxRows, groups, maxConnections };
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

/** A source's pool; with a CA bundle configured the URL gets verify-full TLS (server/db/tls.ts). */
export function createSourcePool(url: string, max: number, caFile?: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: withDatabaseTls(url, caFile),
    max,
    application_name: 'porthole',
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 60_000,
  });
  pool.on('error', () => undefined); // see connectToolsDb: an idle client's lost connection must not crash us
  return pool;
}

/** Builds the registry from the config (and DATA_SOURCES_FILE); throws ConfigError on a bad file. */
export function createDataSourceRegistry(
  config: Config,
  env: Record<string, string | undefined> = process.env,
): DataSourceRegistry {
  const listed = config.dataSourcesFile ? readDataSourcesFile(config.dataSourcesFile, env) : [];
  const sources: DataSource[] = [];
  const mainEntry = listed.find((d) => d.id === 'main');
  if (mainEntry?.url && config.mainDatabaseUrl) {
    throw new ConfigError(['data source "main" has a URL in DATA_SOURCES_FILE and in MAIN_DATABASE_URL: give only one']);
  }
  const mainUrl = config.mainDatabaseUrl ?? mainEntry?.url;
  if (mainUrl) {
    sources.push({
      id: 'main',
      name: mainEntry && mainEntry.name !== 'main' ? mainEntry.name : 'Main database',
      pool: createSourcePool(mainUrl, mainEntry?.maxConnections ?? DEFAULT_MAX_CONNECTIONS, config.databaseCaFile),
      settings: settingsOf(mainEntry),
    });
  }
  for (const definition of listed) {
    if (definition.id === 'main' || !definition.url) continue;
    sources.push({
      id: definition.id,
      name: definition.name,
      pool: createSourcePool(definition.url, definition.maxConnections ?? DEFAULT_MAX_CONNECTIONS, config.databaseCaFile),
      settings: settingsOf(definition),
    });
  }
  return new DataSourceRegistry(sources);
}
