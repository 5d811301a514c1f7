// Parses the environment once into a frozen, typed Config. Every problem is collected so an operator
// sees the whole list at once instead of fixing one variable per restart.
import type { ColumnRef, TierDefinition } from './data-sources/tiers.js';
import { parseS3Location } from './audit/s3-location.js';
import { rdsIamFromUrl, type RdsIamConnection } from './data-sources/rds-iam.js';
import { caBundleProblem, withDatabaseTls } from './db/tls.js';
import { isWeakSecret } from './lib/secret-strength.js';

export type Role = 'viewer' | 'editor' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'editor', 'admin'];

export interface OidcConfig {
  issuerUrl: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  groupsClaim: string;
}

export interface Config {
  nodeEnv: 'production' | 'development' | 'test';
  /** No TOOLS_DATABASE_URL: embedded PostgreSQL, demo data and the demo identity provider. */
  demo: boolean;
  host: string;
  port: number;
  publicUrl: string;
  /** Where demo mode keeps its PostgreSQL cluster and generated secrets. */
  dataDir: string;
  /** How many notifications the demo main database is seeded with on its first start. */
  demoNotifications: number;
  /** Database URLs carry the TLS settings of `databaseCaFile` already (see server/db/tls.ts). */
  toolsDatabaseUrl?: string;
  toolsMigrationUrl?: string;
  mainDatabaseUrl?: string;
  /** MAIN_DATABASE_AUTH=rds-iam: the main source signs IAM tokens instead (mainDatabaseUrl is then unset). */
  mainDatabaseIam?: RdsIamConnection;
  dataSourcesFile?: string;
  /** The main source's access tiers when DATA_SOURCES_FILE gives none: set by demo mode, never from the environment. */
  mainSourceTiers?: { tiers: TierDefinition[]; sensitiveColumns: ColumnRef[] };
  /** CA bundle for verify-full TLS to every database (DATABASE_CA_FILE or PGSSLROOTCERT). */
  databaseCaFile?: string;
  sessionSecret?: string;
  /** Bearer token that /metrics requires; unset: /metrics answers 404. */
  metricsToken?: string;
  oidc?: OidcConfig;
  oidcScopes: string;
  oidcGroupsClaim: string;
  roles: { adminEmails: string[]; adminGroups: string[]; viewerGroups: string[]; defaultRole: Role };
  engine: { queryTimeoutMs: number; maxRows: number; maxCsvRows: number; maxResultBytes: number };
  session: { idleMinutes: number; maxHours: number };
  /** API tokens and CSV links (#12): requests per token per minute, across tasks. */
  tokens: { rateLimitPerMinute: number };
  /** Background runs (#12): their own time limit, how long results are kept, how many one user may have going. */
  background: { timeoutMs: number; resultRetentionMinutes: number; perUserRuns: number };
  /** Requests per minute one client address may make to /auth/* (THREATS.md 52). */
  authRateLimitPerMinute: number;
  trustProxy: boolean | string;
  auditRetentionDays?: number;
  /** s3://bucket/prefix for the hourly audit anchors (Object Lock bucket); unset: the tools DB keeps them. */
  auditAnchorBucket?: string;
  /** SCHEDULER_ENABLED=false: this task runs no scheduled or queued jobs (e.g. a web-only task). */
  scheduler: { enabled: boolean };
  alerts: {
    /** SMTP_URL: smtp:// or smtps:// with credentials; unset outside demo mode means no email. */
    smtpUrl?: string;
    /** ALERT_FROM: the From address of alert emails. */
    from: string;
    /** ALERTS_INCLUDE_ROWS=false keeps result rows out of notifications (they leave the VPC). */
    includeRows: boolean;
    /** WEBHOOK_ALLOWED_HOSTS: hosts a webhook may reach even on a private address (and, outside production, over http). */
    webhookAllowedHosts: string[];
    /**
     * HTTPS_PROXY (or https_proxy) and NO_PROXY: the egress proxy Slack and webhook deliveries leave the
     * private subnets through (server/checks/egress-proxy.ts); the stack's egressProxyUrl sets them.
     */
    egressProxy?: { url: string; noProxy: string[] };
  };
  /** The result store's caps, in compressed bytes (server/results/store.ts). */
  results: { maxEntryBytes: number; maxTotalBytes: number };
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Porthole cannot start: ${problems.length} configuration problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Collects problems while reading variables; each reader returns a usable value or undefined. */
class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  string(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return Number(raw);
  }

  url(name: string, protocols: string[]): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    try {
      const url = new URL(raw);
      if (!protocols.includes(url.protocol)) {
        this.problems.push(`${name} must use ${protocols.join(' or ')} (got ${url.protocol})`);
        return undefined;
      }
      return raw;
    } catch {
      this.problems.push(`${name} is not a valid URL`);
      return undefined;
    }
  }

  list(name: string): string[] {
    return (this.string(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (raw !== 'true' && raw !== 'false') {
      this.problems.push(`${name} must be true or false (got "${raw}")`);
      return fallback;
    }
    return raw === 'true';
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  }

  require<T>(name: string, value: T | undefined, why: string): T | undefined {
    if (value === undefined && this.env[name]?.trim() === undefined) this.problems.push(`${name} is required ${why}`);
    return value;
  }
}

const POSTGRES = ['postgres:', 'postgresql:'];

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * Which peers may set X-Forwarded-*: `true` (any), or their addresses as IPs/CIDRs or proxy-addr's names
 * (loopback, linklocal, uniquelocal). Hop counts are refused: Fastify 5.12+ cannot check the peer with
 * one and then trusts nobody, which would silently break secure cookies behind a load balancer.
 */
function readTrustProxy(r: EnvReader): boolean | string {
  const raw = r.string('TRUST_PROXY');
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) {
    r.problems.push(`TRUST_PROXY takes true or the load balancer's addresses (e.g. 10.0.0.0/16), not a hop count (got "${raw}")`);
    return false;
  }
  const entries = raw.split(',').map((entry) => entry.trim());
  const valid = (entry: string) =>
    ['loopback', 'linklocal', 'uniquelocal'].includes(entry) ||
    /^[\d.]+(\/\d{1,2})?$/.test(entry) ||
    /^[\da-f:]+(\/\d{1,3})?$/i.test(entry);
  const invalid = entries.filter((entry) => !valid(entry));
  if (invalid.length)
    r.problems.push(`TRUST_PROXY has entries that are not IPs, CIDRs or loopback/linklocal/uniquelocal: ${invalid.join(', ')}`);
  return entries.join(',');
}

function readPublicUrl(r: EnvReader, production: boolean, host: string, port: number): string {
  const raw = r.url('PUBLIC_URL', ['http:', 'https:']);
  if (raw === undefined) {
    if (production) r.require('PUBLIC_URL', undefined, 'in production (the origin users reach)');
    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    return `http://${shownHost}:${port}`;
  }
  const url = new URL(raw);
  if (url.pathname !== '/' || url.search || url.hash) {
    r.problems.push('PUBLIC_URL must be an origin only, like https://porthole.example.com (no path)');
  }
  if (production && url.protocol !== 'https:') r.problems.push('PUBLIC_URL must use https in production');
  else if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    r.problems.push('PUBLIC_URL may use plain http only on a loopback address (session cookies need https elsewhere)');
  }
  return url.origin;
}

function readOidc(r: EnvReader, scopes: string, groupsClaim: string, required: boolean): OidcConfig | undefined {
  const issuerUrl = r.url('OIDC_ISSUER_URL', ['https:', 'http:']);
  const clientId = r.string('OIDC_CLIENT_ID');
  const clientSecret = r.string('OIDC_CLIENT_SECRET');
  const anySet = issuerUrl !== undefined || clientId !== undefined || clientSecret !== undefined;
  if (!required && !anySet) return undefined;
  const why = required
    ? 'outside demo mode (the identity provider; only the demo has its own)'
    : 'when any OIDC_* setting is given';
  r.require('OIDC_ISSUER_URL', issuerUrl, why);
  r.require('OIDC_CLIENT_ID', clientId, why);
  r.require('OIDC_CLIENT_SECRET', clientSecret, why);
  if (!issuerUrl || !clientId || !clientSecret) return undefined;
  return { issuerUrl, clientId, clientSecret, scopes, groupsClaim };
}

/** HTTPS_PROXY (curl's lower-case spelling too): an http(s)://host:port origin, credentials allowed. */
function readEgressProxy(r: EnvReader): Config['alerts']['egressProxy'] {
  const name = r.string('HTTPS_PROXY') !== undefined ? 'HTTPS_PROXY' : 'https_proxy';
  const raw = r.url(name, ['http:', 'https:']);
  if (raw === undefined) return undefined;
  const url = new URL(raw);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    r.problems.push(`${name} must be a proxy origin like http://proxy.internal:3128 (no path)`);
    return undefined;
  }
  const noProxy = r.list(r.string('NO_PROXY') !== undefined ? 'NO_PROXY' : 'no_proxy').map((entry) => entry.toLowerCase());
  return { url: raw, noProxy };
}

function readAlerts(r: EnvReader): Config['alerts'] {
  const from = r.string('ALERT_FROM') ?? 'Porthole <porthole@localhost>';
  if (!/^[^<>@\s]+@[^<>@\s]+$|<[^<>@\s]+@[^<>@\s]+>$/.test(from))
    r.problems.push(`ALERT_FROM must be an email address (got "${from}")`);
  return {
    smtpUrl: r.url('SMTP_URL', ['smtp:', 'smtps:']),
    from,
    includeRows: r.boolean('ALERTS_INCLUDE_ROWS', true),
    webhookAllowedHosts: r.list('WEBHOOK_ALLOWED_HOSTS').map((host) => host.toLowerCase()),
    egressProxy: readEgressProxy(r),
  };
}

export function loadConfig(env: Env = process.env): Config {
  const r = new EnvReader(env);
  const nodeEnv = r.oneOf('NODE_ENV', ['production', 'development', 'test'] as const, 'development');
  const production = nodeEnv === 'production';

  const toolsDatabaseUrl = r.url('TOOLS_DATABASE_URL', POSTGRES);
  const demo = r.string('TOOLS_DATABASE_URL') === undefined;
  if (demo && production) {
    r.problems.push(
      'TOOLS_DATABASE_URL is required in production: demo mode (embedded PostgreSQL, demo sign-in) is refused when NODE_ENV=production',
    );
  }

  const host = r.string('HOST') ?? '127.0.0.1';
  const port = r.integer('PORT', 3000, 1, 65535);
  const publicUrl = readPublicUrl(r, production, host, port);

  const mainDatabaseUrl = r.url('MAIN_DATABASE_URL', POSTGRES);
  const mainDatabaseAuth = r.oneOf('MAIN_DATABASE_AUTH', ['password', 'rds-iam'] as const, 'password');
  if (mainDatabaseAuth === 'rds-iam')
    r.require(
      'MAIN_DATABASE_URL',
      mainDatabaseUrl,
      'with MAIN_DATABASE_AUTH=rds-iam (postgres://user@host:port/database, no password)',
    );
  // DATA_SOURCES_FILE may define "main" instead (checked with the file: data-sources/config-file.ts).
  else if (!demo && r.string('DATA_SOURCES_FILE') === undefined)
    r.require('MAIN_DATABASE_URL', mainDatabaseUrl, 'when TOOLS_DATABASE_URL is set (demo data exists only in demo mode)');

  const databaseCaFile = r.string('DATABASE_CA_FILE') ?? r.string('PGSSLROOTCERT');
  const caProblem = databaseCaFile === undefined ? undefined : caBundleProblem(databaseCaFile);
  if (caProblem) r.problems.push(`DATABASE_CA_FILE (or PGSSLROOTCERT) ${databaseCaFile} ${caProblem}`);
  const tls = (url: string | undefined) => (url === undefined ? undefined : withDatabaseTls(url, databaseCaFile));

  const mainDatabaseIam: RdsIamConnection | undefined =
    mainDatabaseAuth === 'rds-iam' && mainDatabaseUrl !== undefined
      ? rdsIamFromUrl(tls(mainDatabaseUrl)!, env, r.problems)
      : undefined;

  const sessionSecret = r.string('SESSION_SECRET');
  if (sessionSecret !== undefined) {
    const weakness = isWeakSecret(sessionSecret);
    if (weakness) r.problems.push(`SESSION_SECRET is refused: ${weakness}`);
  } else if (!demo || production) {
    r.problems.push('SESSION_SECRET is required (at least 32 characters of real entropy, e.g. `openssl rand -base64 48`)');
  }

  // Optional; when set it guards /metrics, so it is held to the same bar as SESSION_SECRET.
  const metricsToken = r.string('METRICS_TOKEN');
  if (metricsToken !== undefined) {
    const weakness = isWeakSecret(metricsToken);
    if (weakness) r.problems.push(`METRICS_TOKEN is refused: ${weakness}`);
  }

  const oidcScopes = r.string('OIDC_SCOPES') ?? 'openid email profile';
  if (!oidcScopes.split(/\s+/).includes('openid')) r.problems.push('OIDC_SCOPES must include "openid"');
  const oidcGroupsClaim = r.string('OIDC_GROUPS_CLAIM') ?? 'groups';
  const oidc = readOidc(r, oidcScopes, oidcGroupsClaim, !demo || production);

  const retentionRaw = r.string('AUDIT_RETENTION_DAYS');
  const auditRetentionDays = retentionRaw === undefined ? undefined : r.integer('AUDIT_RETENTION_DAYS', 0, 1, 36500);

  const config: Config = {
    nodeEnv,
    demo,
    host,
    port,
    publicUrl,
    dataDir: r.string('PORTHOLE_DATA_DIR') ?? '.porthole',
    demoNotifications: r.integer('DEMO_NOTIFICATIONS', 500_000, 1_000, 50_000_000),
    toolsDatabaseUrl: tls(toolsDatabaseUrl),
    toolsMigrationUrl: tls(r.url('TOOLS_MIGRATION_URL', POSTGRES)),
    mainDatabaseUrl: mainDatabaseAuth === 'rds-iam' ? undefined : tls(mainDatabaseUrl),
    mainDatabaseIam,
    dataSourcesFile: r.string('DATA_SOURCES_FILE'),
    databaseCaFile,
    sessionSecret,
    metricsToken,
    oidc,
    oidcScopes,
    oidcGroupsClaim,
    roles: {
      adminEmails: r.list('ADMIN_EMAILS').map((e) => e.toLowerCase()),
      adminGroups: r.list('ADMIN_GROUPS'),
      viewerGroups: r.list('VIEWER_GROUPS'),
      defaultRole: r.oneOf('DEFAULT_ROLE', ROLES, 'editor'),
    },
    engine: {
      queryTimeoutMs: r.integer('QUERY_TIMEOUT_MS', 30_000, 100, 3_600_000),
      maxRows: r.integer('MAX_ROWS', 10_000, 1, 1_000_000),
      maxCsvRows: r.integer('MAX_CSV_ROWS', 1_000_000, 1, 100_000_000),
      // Bytes of row JSON per JSON result, counted as sent (the grid must hold what it is sent).
      maxResultBytes: r.integer('MAX_RESULT_BYTES', 64 * 1024 * 1024, 1024, 1024 * 1024 * 1024 * 1024),
    },
    session: {
      idleMinutes: r.integer('SESSION_IDLE_MINUTES', 120, 5, 7 * 24 * 60),
      maxHours: r.integer('SESSION_MAX_HOURS', 12, 1, 30 * 24),
    },
    tokens: { rateLimitPerMinute: r.integer('TOKEN_RATE_LIMIT_PER_MINUTE', 120, 1, 100_000) },
    background: {
      timeoutMs: r.integer('BACKGROUND_QUERY_TIMEOUT_MS', 30 * 60_000, 1_000, 24 * 3_600_000),
      resultRetentionMinutes: r.integer('RESULT_RETENTION_MINUTES', 60, 1, 30 * 24 * 60),
      perUserRuns: r.integer('BACKGROUND_RUNS_PER_USER', 3, 1, 100),
    },
    authRateLimitPerMinute: r.integer('AUTH_RATE_LIMIT_PER_MINUTE', 60, 1, 100_000),
    trustProxy: readTrustProxy(r),
    auditRetentionDays,
    auditAnchorBucket: readAnchorBucket(r),
    scheduler: { enabled: r.boolean('SCHEDULER_ENABLED', true) },
    alerts: readAlerts(r),
    results: {
      maxEntryBytes: r.integer('RESULT_STORE_MAX_ENTRY_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxTotalBytes: r.integer('RESULT_STORE_MAX_BYTES', 1024 * 1024 * 1024, 1024, Number.MAX_SAFE_INTEGER),
    },
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  };
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return deepFreeze(config);
}

/** AUDIT_ANCHOR_BUCKET: a bucket name or s3://bucket/prefix, kept as s3://bucket/prefix. */
function readAnchorBucket(r: EnvReader): string | undefined {
  const raw = r.string('AUDIT_ANCHOR_BUCKET');
  if (raw === undefined) return undefined;
  const location = raw.startsWith('s3://') ? raw : `s3://${raw}`;
  try {
    const { bucket, prefix } = parseS3Location(location);
    return `s3://${bucket}/${prefix}`;
  } catch {
    r.problems.push('AUDIT_ANCHOR_BUCKET must be an S3 bucket name or s3://bucket/prefix');
    return undefined;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
