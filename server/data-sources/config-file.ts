// DATA_SOURCES_FILE: more data sources beside `main`, as JSON. Every problem is reported at once, like
// server/config.ts does for the environment. Example:
//   { "sources": [
//       { "id": "replica", "name": "Orders (replica)", "urlEnv": "REPLICA_DATABASE_URL",
//         "timeoutMs": 60000, "maxRows": 50000, "groups": ["analysts"], "maxConnections": 5 },
//       { "id": "main", "groups": ["engineering"] } ] }
// An entry with id "main" and no URL adjusts the main source (from MAIN_DATABASE_URL).
// Access tiers (tiers.ts): "tiers" lists reader roles lowest first; the first may leave out its URL and
// use the source's own; "sensitiveColumns" lists what the tiers without "readsSensitive" must not read.
//   { "id": "main", "sensitiveColumns": ["public.users.email"],
//     "tiers": [ { "name": "standard" },
//                { "name": "pii", "urlEnv": "MAIN_PII_DATABASE_URL", "groups": ["support"], "readsSensitive": true } ] }
// IAM database authentication (rds-iam.ts): "auth": "rds-iam" with "host", "port", "database", "user"
// (and optionally "region") instead of a URL; no password exists. Tiers above the first keep their URLs.
import { readFileSync } from 'node:fs';
import { ConfigError, type Config } from '../config.js';
import { readRdsIamEntry, type RdsIamConnection } from './rds-iam.js';
import { readSensitiveColumns, readTiers, readUrlKeys, type ColumnRef, type TierDefinition } from './tiers.js';

export interface DataSourceSettings {
  /** Per-run statement timeout; defaults to QUERY_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Rows returned to the browser per run; defaults to MAX_ROWS. */
  maxRows?: number;
  /** Only members of one of these groups (and admins) see and use the source; empty = everyone. */
  groups?: string[];
  /** Pool size: the most runs executing at once on this source from one Porthole task. */
  maxConnections?: number;
  /** Reader roles lowest first (tiers.ts); unset = one tier, "standard", on the source's URL. */
  tiers?: TierDefinition[];
  /** Columns the tiers without readsSensitive must not be able to read (checked at start-up). */
  sensitiveColumns?: ColumnRef[];
}

export interface DataSourceDefinition extends DataSourceSettings {
  id: string;
  name: string;
  url?: string;
  /** auth "rds-iam": connects with a signed token instead of a URL's password. */
  rdsIam?: RdsIamConnection;
}

const ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const KEYS = new Set([
  'id',
  'name',
  'url',
  'urlEnv',
  'timeoutMs',
  'maxRows',
  'groups',
  'maxConnections',
  'tiers',
  'sensitiveColumns',
  'auth',
  // auth "rds-iam" (rds-iam.ts); "password" is named so its refusal can say why.
  'host',
  'port',
  'database',
  'user',
  'region',
  'password',
]);
const RDS_IAM_KEYS = ['host', 'port', 'database', 'user', 'region', 'password'];

type Env = Record<string, string | undefined>;

export interface DataSourcesFileOptions {
  /** The CA bundle (DATABASE_CA_FILE): rds-iam sources need it, their tokens go only to a verified server. */
  caFile?: string;
}

function readEntry(
  entry: unknown,
  index: number,
  env: Env,
  options: DataSourcesFileOptions,
  problems: string[],
): DataSourceDefinition | undefined {
  const where = `DATA_SOURCES_FILE source #${index + 1}`;
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
    problems.push(`${where} must be an object`);
    return undefined;
  }
  const e = entry as Record<string, unknown>;
  const id = typeof e.id === 'string' ? e.id : '';
  if (!ID.test(id)) problems.push(`${where} needs an "id" of lower-case letters, digits, _ or - (got ${JSON.stringify(e.id)})`);
  const label = ID.test(id) ? `data source "${id}"` : where;
  for (const key of Object.keys(e)) if (!KEYS.has(key)) problems.push(`${label} has an unknown key "${key}"`);

  let url: string | undefined;
  let rdsIam: RdsIamConnection | undefined;
  if (e.auth === 'rds-iam') {
    rdsIam = readRdsIamEntry(e, label, env, options.caFile, problems);
  } else {
    if (e.auth !== undefined && e.auth !== 'password')
      problems.push(`${label}: "auth" must be "password" (the URL's) or "rds-iam" (got ${JSON.stringify(e.auth)})`);
    const misplaced = RDS_IAM_KEYS.filter((key) => e[key] !== undefined);
    if (misplaced.length)
      problems.push(
        `${label}: ${misplaced.map((key) => `"${key}"`).join(', ')} go with "auth": "rds-iam"; other sources give "url" or "urlEnv"`,
      );
    url = readUrlKeys(e, label, env, problems);
    if (url === undefined && id !== 'main' && e.urlEnv === undefined) problems.push(`${label} needs "url" or "urlEnv"`);
  }

  const integer = (key: string, min: number, max: number): number | undefined => {
    const value = e[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${label}: "${key}" must be a whole number from ${min} to ${max}`);
      return undefined;
    }
    return value;
  };
  const groups = e.groups;
  if (groups !== undefined && (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string' && g.trim() !== ''))) {
    problems.push(`${label}: "groups" must be a list of group names`);
  }
  if (e.name !== undefined && (typeof e.name !== 'string' || e.name.trim() === ''))
    problems.push(`${label}: "name" must be text`);

  return {
    id,
    name: typeof e.name === 'string' && e.name.trim() ? e.name.trim() : id,
    url,
    ...(rdsIam ? { rdsIam } : {}),
    timeoutMs: integer('timeoutMs', 100, 3_600_000),
    maxRows: integer('maxRows', 1, 1_000_000),
    maxConnections: integer('maxConnections', 1, 100),
    groups: Array.isArray(groups) ? (groups as string[]).map((g) => g.trim()) : undefined,
    tiers: readTiers(label, e.tiers, env, problems),
    sensitiveColumns: readSensitiveColumns(label, e.sensitiveColumns, problems),
  };
}

/** Reads and validates the file; throws ConfigError listing every problem. */
export function readDataSourcesFile(
  file: string,
  env: Env = process.env,
  options: DataSourcesFileOptions = {},
): DataSourceDefinition[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError([`DATA_SOURCES_FILE ${file} could not be read as JSON: ${(error as Error).message}`]);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { sources?: unknown } | null)?.sources;
  if (!Array.isArray(list)) throw new ConfigError([`DATA_SOURCES_FILE ${file} must hold {"sources": [...]} or a list`]);
  const problems: string[] = [];
  const definitions = list.map((entry, index) => readEntry(entry, index, env, options, problems));
  const seen = new Set<string>();
  for (const d of definitions) {
    if (!d?.id) continue;
    if (seen.has(d.id)) problems.push(`data source "${d.id}" is listed twice`);
    seen.add(d.id);
  }
  if (problems.length) throw new ConfigError(problems);
  return definitions as DataSourceDefinition[];
}

/**
 * DATA_SOURCES_FILE as the configuration uses it, with the checks that need the environment too: "main"
 * is given once (MAIN_DATABASE_URL or the file), and outside demo mode it is given somewhere.
 */
export function readSourceDefinitions(config: Config, env: Env = process.env): DataSourceDefinition[] {
  const listed = config.dataSourcesFile
    ? readDataSourcesFile(config.dataSourcesFile, env, { caFile: config.databaseCaFile })
    : [];
  const main = listed.find((d) => d.id === 'main');
  const fromEnvironment = config.mainDatabaseUrl !== undefined || config.mainDatabaseIam !== undefined;
  if ((main?.url || main?.rdsIam) && fromEnvironment) {
    throw new ConfigError(['data source "main" has a connection in DATA_SOURCES_FILE and in MAIN_DATABASE_URL: give only one']);
  }
  if (!config.demo && !fromEnvironment && !main?.url && !main?.rdsIam) {
    throw new ConfigError([
      'data source "main" has no connection: set MAIN_DATABASE_URL, or give "main" a "url", "urlEnv" or "auth": "rds-iam" in DATA_SOURCES_FILE',
    ]);
  }
  return listed;
}
