// The main databases Porthole reads: `main` from MAIN_DATABASE_URL plus any listed in DATA_SOURCES_FILE,
// one bounded pool per access tier (tiers.ts). The engine (server/engine) is the only code that runs user
// SQL on these pools. A source with IAM authentication (rds-iam.ts) connects with a token signed for each
// new connection instead of a password.
import pg from 'pg';
import { verifyFullTlsOptions, withDatabaseTls } from '../db/tls.js';
import type { Config } from '../config.js';
import { readSourceDefinitions, type DataSourceDefinition, type DataSourceSettings } from './config-file.js';
import type { RdsIamConnection } from './rds-iam.js';
import { rdsIamTokenSigner, type AwsCredentials } from './rds-iam-token.js';
import { survivesLostConnections } from '../db/unavailable.js';
import { DEFAULT_TIER, type ColumnRef, type Tier, type TierDefinition } from './tiers.js';

export type SourceTier = Tier<pg.Pool> & {
  /** Set when the tier connects with IAM tokens: the user and host, for messages about a refused login. */
  rdsIam?: Pick<RdsIamConnection, 'user' | 'host'>;
};

/** How a source (its first tier) connects: a URL with its password, or IAM tokens. */
type SourceConnection = { url: string } | { rdsIam: RdsIamConnection };

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

const POOL_OPTIONS = {
  application_name: 'porthole',
  connectionTimeoutMillis: 10_000,
  idleTimeoutMillis: 60_000,
} satisfies pg.PoolConfig;

function watched(pool: pg.Pool): pg.Pool {
  // A lost connection must not crash the process, whether the client is idle or checked out.
  return survivesLostConnections(pool);
}

/** A source's pool; with a CA bundle configured the URL gets verify-full TLS (server/db/tls.ts). */
export function createSourcePool(url: string, max: number, caFile?: string): pg.Pool {
  return watched(new pg.Pool({ connectionString: withDatabaseTls(url, caFile), max, ...POOL_OPTIONS }));
}

/**
 * An rds-iam source's pool: pg asks for the password each time it opens a connection, and gets a token
 * signed just then (tokens last 15 minutes; an open connection outlives its token). Always verify-full.
 * No connectionString: pg would let the URL's empty password replace the function.
 */
export function createRdsIamPool(connection: RdsIamConnection, max: number, credentials?: AwsCredentials): pg.Pool {
  return watched(
    new pg.Pool({
      host: connection.host,
      port: connection.port,
      database: connection.database,
      user: connection.user,
      password: rdsIamTokenSigner(connection, credentials),
      ssl: verifyFullTlsOptions(connection.caFile),
      max,
      ...POOL_OPTIONS,
    }),
  );
}

export interface RegistryOptions {
  /** Credentials that sign rds-iam tokens; unset: the AWS SDK's default chain (the ECS task role). */
  awsCredentials?: AwsCredentials;
}

/** One pool per tier; the first tier without a URL of its own uses the source's connection. */
function buildSource(
  id: string,
  name: string,
  connection: SourceConnection,
  definition: Pick<DataSourceDefinition, 'tiers' | 'sensitiveColumns' | 'maxConnections'> | undefined,
  settings: DataSourceSettings | undefined,
  caFile: string | undefined,
  options: RegistryOptions,
): DataSource {
  const max = definition?.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const definitions: TierDefinition[] = definition?.tiers?.length
    ? definition.tiers
    : [{ name: DEFAULT_TIER, groups: [], readsSensitive: false }];
  const tiers: SourceTier[] = definitions.map((tier, index) => {
    const base = { name: tier.name, groups: tier.groups, readsSensitive: tier.readsSensitive };
    if (tier.url === undefined && index === 0 && 'rdsIam' in connection) {
      const { user, host } = connection.rdsIam;
      return { ...base, rdsIam: { user, host }, pool: createRdsIamPool(connection.rdsIam, max, options.awsCredentials) };
    }
    const url = tier.url ?? (index === 0 && 'url' in connection ? connection.url : '');
    return { ...base, pool: createSourcePool(url, max, caFile) };
  });
  return { id, name, pool: tiers[0]!.pool, tiers, sensitiveColumns: definition?.sensitiveColumns ?? [], settings };
}

/** Builds the registry from the config (and DATA_SOURCES_FILE); throws ConfigError on a bad file. */
export function createDataSourceRegistry(
  config: Config,
  env: Record<string, string | undefined> = process.env,
  options: RegistryOptions = {},
): DataSourceRegistry {
  const listed = readSourceDefinitions(config, env);
  const sources: DataSource[] = [];
  const mainEntry = listed.find((d) => d.id === 'main');
  const mainUrl = config.mainDatabaseUrl ?? mainEntry?.url;
  const mainIam = config.mainDatabaseIam ?? mainEntry?.rdsIam;
  const mainConnection: SourceConnection | undefined = mainUrl ? { url: mainUrl } : mainIam ? { rdsIam: mainIam } : undefined;
  if (mainConnection) {
    const tiered = mainEntry?.tiers ? mainEntry : { ...mainEntry, ...config.mainSourceTiers };
    sources.push(
      buildSource(
        'main',
        mainEntry && mainEntry.name !== 'main' ? mainEntry.name : 'Main database',
        mainConnection,
        tiered,
        settingsOf(mainEntry),
        config.databaseCaFile,
        options,
      ),
    );
  }
  for (const definition of listed) {
    if (definition.id === 'main') continue;
    const connection: SourceConnection | undefined = definition.url
      ? { url: definition.url }
      : definition.rdsIam
        ? { rdsIam: definition.rdsIam }
        : undefined;
    if (!connection) continue;
    sources.push(
      buildSource(definition.id, definition.name, connection, definition, settingsOf(definition), config.databaseCaFile, options),
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
