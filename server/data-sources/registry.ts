// The main databases Porthole reads: `main` from MAIN_DATABASE_URL plus any listed in DATA_SOURCES_FILE,
// one bounded pool per access tier (tiers.ts). The engine (server/engine) is the only code that runs user
// SQL on these pools.
import pg from 'pg';
import { survivesLostConnections } from '../db/unavailable.js';
import { withDatabaseTls } from '../db/tls.js';
import { ConfigError, type Config } from '../config.js';
import { readDataSourcesFile, type DataSourceDefinition, type DataSourceSettings } from './config-file.js';
import { DEFAULT_TIER, type ColumnRef, type Tier, type TierDefinition } from './tiers.js';

export type SourceTier = Tier<pg.Pool>;

export interface DataSource {
  id: string;
  name: string;
  /** The first (lowest) tier's pool: schema reading and health checks use it. */
  pool: pg.Pool;
  /** Reader roles lowest first; always at least one. */
  tiers: SourceTier[];
  /** Columns the tiers without readsSensitive must not read (the self-check warns when they can). */
  sensitiveColumns: ColumnRef[];
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

  /** Sources given without tiers (tests, tools) get one tier on their pool. */
  constructor(sources: Array<DataSource | Pick<DataSource, 'id' | 'name' | 'pool' | 'settings'>>) {
    for (const source of sources) this.sources.set(source.id, 'tiers' in source ? source : singleTierSource(source));
  }

  list(): DataSource[] {
    return [...this.sources.values()];
  }

  get(id: string): DataSource | undefined {
    return this.sources.get(id);
  }

  /** Every pool by name: `source:<id>` for a source's first tier, `source:<id>:<tier>` for the others. */
  pools(): Array<[string, pg.Pool]> {
    return this.list().flatMap((source) =>
      source.tiers.map(
        (tier, index) =>
          [index === 0 ? `source:${source.id}` : `source:${source.id}:${tier.name}`, tier.pool] as [string, pg.Pool],
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.list().flatMap((source) => source.tiers.map((tier) => tier.pool.end())));
  }
}

/** A source's pool; with a CA bundle configured the URL gets verify-full TLS (server/db/tls.ts). */
export function createSourcePool(url: string, max: number, caFile?: string): pg.Pool {
  // A lost connection must not crash the process, whether the client is idle or checked out.
  return survivesLostConnections(
    new pg.Pool({
      connectionString: withDatabaseTls(url, caFile),
      max,
      application_name: 'porthole',
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 60_000,
    }),
  );
}

/** One pool per tier; the first tier without a URL of its own uses the source's. */
function buildSource(
  id: string,
  name: string,
  url: string,
  definition: Pick<DataSourceDefinition, 'tiers' | 'sensitiveColumns' | 'maxConnections'> | undefined,
  settings: DataSourceSettings | undefined,
  caFile: string | undefined,
): DataSource {
  const max = definition?.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const definitions: TierDefinition[] = definition?.tiers?.length
    ? definition.tiers
    : [{ name: DEFAULT_TIER, groups: [], readsSensitive: false }];
  const tiers = definitions.map((tier, index) => ({
    name: tier.name,
    groups: tier.groups,
    readsSensitive: tier.readsSensitive,
    pool: createSourcePool(tier.url ?? (index === 0 ? url : ''), max, caFile),
  }));
  return { id, name, pool: tiers[0]!.pool, tiers, sensitiveColumns: definition?.sensitiveColumns ?? [], settings };
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
    const tiered = mainEntry?.tiers ? mainEntry : { ...mainEntry, ...config.mainSourceTiers };
    sources.push(
      buildSource(
        'main',
        mainEntry && mainEntry.name !== 'main' ? mainEntry.name : 'Main database',
        mainUrl,
        tiered,
        settingsOf(mainEntry),
        config.databaseCaFile,
      ),
    );
  }
  for (const definition of listed) {
    if (definition.id === 'main' || !definition.url) continue;
    sources.push(
      buildSource(definition.id, definition.name, definition.url, definition, settingsOf(definition), config.databaseCaFile),
    );
  }
  return new DataSourceRegistry(sources);
}

/** A source with one tier on an existing pool (tests and tools that build a registry by hand). */
export function singleTierSource(source: Pick<DataSource, 'id' | 'name' | 'pool' | 'settings'>): DataSource {
  return {
    ...source,
    tiers: [{ name: DEFAULT_TIER, groups: [], readsSensitive: false, pool: source.pool }],
    sensitiveColumns: [],
  };
}
