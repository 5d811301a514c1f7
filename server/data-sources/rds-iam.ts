// IAM database authentication (RDS and Aurora PostgreSQL): a source with `auth: "rds-iam"` has no
// password anywhere. For each new connection Porthole signs a short-lived token (SigV4, 15 minutes) with
// the task role's credentials and sends it as the password (rds-iam-token.ts); RDS checks the signature
// and that the role may `rds-db:connect` as that database user, who must have `rds_iam`. RDS takes
// tokens only over TLS, and a token is a bearer credential for 15 minutes, so such a source always
// verifies the server's certificate and host name (verify-full against DATABASE_CA_FILE).
//
// Two ways to say it: in DATA_SOURCES_FILE
//   { "id": "main", "auth": "rds-iam", "host": "app.abc123.eu-west-2.rds.amazonaws.com", "port": 5432,
//     "database": "app", "user": "porthole_reader" }
// or for the main source in the environment, MAIN_DATABASE_AUTH=rds-iam with a MAIN_DATABASE_URL
// that names the user but no password: postgres://porthole_reader@app.abc123....:5432/app
// This file only reads and checks those settings; it does not load the AWS SDK.

/** Where and as whom an rds-iam source connects, and what its tokens are signed for. */
export interface RdsIamConnection {
  host: string;
  port: number;
  database: string;
  user: string;
  /** The region the token is signed for: the database's. */
  region: string;
  /** CA bundle the server's certificate must chain to (verify-full). */
  caFile: string;
}

type Env = Record<string, string | undefined>;

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
/** RDS endpoints carry their region: <name>.<id>.<region>.rds.amazonaws.com(.cn). */
const RDS_ENDPOINT_REGION = /\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com(?:\.cn)?$/i;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
/** RDS IAM names a user in an ARN (dbuser:<resource id>/<user>): plain identifiers only. */
const DATABASE_USER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The token's region: given explicitly, else the one in an RDS endpoint's name, else the task's
 * (AWS_REGION, set on ECS, or AWS_DEFAULT_REGION).
 */
export function rdsIamRegion(host: string, explicit: string | undefined, env: Env): string | undefined {
  return (
    explicit ?? RDS_ENDPOINT_REGION.exec(host)?.[1]?.toLowerCase() ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined)
  );
}

const NEEDS_TLS =
  'RDS accepts IAM tokens only over TLS, and Porthole sends them only to a server it verified: set DATABASE_CA_FILE (or PGSSLROOTCERT) to the CA bundle (on AWS the image carries the RDS bundle at /app/certs/rds-ca-bundle.pem)';
const NEEDS_REGION = 'the region to sign tokens for is unknown: give "region", use the RDS endpoint name, or set AWS_REGION';

/** The rds-iam keys of a DATA_SOURCES_FILE entry, checked; undefined (with problems) when unusable. */
export function readRdsIamEntry(
  e: Record<string, unknown>,
  label: string,
  env: Env,
  caFile: string | undefined,
  problems: string[],
): RdsIamConnection | undefined {
  const before = problems.length;
  if (e.password !== undefined) {
    problems.push(
      `${label} uses auth "rds-iam" and must not have a "password": Porthole signs a short-lived IAM token for each connection`,
    );
  }
  if (e.url !== undefined || e.urlEnv !== undefined) {
    problems.push(`${label} uses auth "rds-iam": give "host", "port", "database" and "user" instead of "url" or "urlEnv"`);
  }
  const text = (key: string, pattern: RegExp, what: string): string | undefined => {
    const value = e[key];
    if (value === undefined) {
      problems.push(`${label} uses auth "rds-iam" and needs "${key}" (${what})`);
      return undefined;
    }
    if (typeof value !== 'string' || !pattern.test(value)) {
      problems.push(`${label}: "${key}" must be ${what} (got ${JSON.stringify(value)})`);
      return undefined;
    }
    return value;
  };
  const host = text('host', HOST, "the database's host name");
  const database = text('database', /^[^\s/]{1,63}$/, 'the database name');
  const user = text('user', DATABASE_USER, 'the database user that has rds_iam, a plain identifier');
  let port = 5432;
  if (e.port !== undefined) {
    if (typeof e.port !== 'number' || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
      problems.push(`${label}: "port" must be a whole number from 1 to 65535`);
    } else port = e.port;
  }
  let explicitRegion: string | undefined;
  if (e.region !== undefined) {
    if (typeof e.region === 'string' && REGION.test(e.region)) explicitRegion = e.region;
    else problems.push(`${label}: "region" must be an AWS region name like eu-west-2 (got ${JSON.stringify(e.region)})`);
  }
  if (!caFile) problems.push(`${label} uses auth "rds-iam": ${NEEDS_TLS}`);
  const region = host === undefined ? undefined : rdsIamRegion(host, explicitRegion, env);
  if (host !== undefined && region === undefined && e.region === undefined) problems.push(`${label}: ${NEEDS_REGION}`);
  if (problems.length > before || !host || !database || !user || !region || !caFile) return undefined;
  return { host, port, database, user, region, caFile };
}

/**
 * MAIN_DATABASE_AUTH=rds-iam: MAIN_DATABASE_URL (with the TLS settings of server/db/tls.ts already
 * applied) names host, port, database and user, and no password; it must verify the server.
 */
export function rdsIamFromUrl(url: string, env: Env, problems: string[]): RdsIamConnection | undefined {
  const where = 'MAIN_DATABASE_AUTH=rds-iam';
  const before = problems.length;
  const parsed = new URL(url);
  if (parsed.password) {
    problems.push(
      `${where}: MAIN_DATABASE_URL must not carry a password (Porthole signs a short-lived IAM token for each connection)`,
    );
  }
  const user = decodeURIComponent(parsed.username);
  if (!user)
    problems.push(`${where}: MAIN_DATABASE_URL must name the database user, like postgres://porthole_reader@host:5432/app`);
  else if (!DATABASE_USER.test(user)) problems.push(`${where}: the user "${user}" must be a plain identifier`);
  const database = decodeURIComponent(parsed.pathname.slice(1));
  if (!database)
    problems.push(`${where}: MAIN_DATABASE_URL must name the database, like postgres://porthole_reader@host:5432/app`);
  const host = parsed.hostname;
  if (!host) problems.push(`${where}: MAIN_DATABASE_URL must name the host`);
  const sslmode = parsed.searchParams.get('sslmode');
  const caFile = parsed.searchParams.get('sslrootcert') ?? undefined;
  if (sslmode !== 'verify-full' || !caFile) {
    problems.push(
      sslmode && sslmode !== 'verify-full'
        ? `${where}: MAIN_DATABASE_URL asks for sslmode=${sslmode}, but IAM tokens go only to a verified server (sslmode=verify-full)`
        : `${where}: ${NEEDS_TLS}`,
    );
  }
  const others = [...parsed.searchParams.keys()].filter((key) => key !== 'sslmode' && key !== 'sslrootcert');
  if (others.length)
    problems.push(`${where}: MAIN_DATABASE_URL may carry only sslmode and sslrootcert (got ${others.join(', ')})`);
  const region = host ? rdsIamRegion(host, undefined, env) : undefined;
  if (host && !region) problems.push(`${where}: ${NEEDS_REGION.replace('give "region", ', '')}`);
  if (problems.length > before || !region || !caFile) return undefined;
  return { host, port: parsed.port ? Number(parsed.port) : 5432, database, user, region, caFile };
}

/**
 * A refused login on an rds-iam connection, in words an operator can act on (RDS answers only "PAM
 * authentication failed"); undefined for other errors.
 */
export function explainRdsIamRefusal(error: unknown, connection: Pick<RdsIamConnection, 'user' | 'host'>): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== '28P01' && code !== '28000') return undefined;
  const message = error instanceof Error ? error.message : String(error);
  return (
    `the database at ${connection.host} refused the IAM token for "${connection.user}" (${message}). ` +
    `Check that the task role may rds-db:connect to dbuser:<DbiResourceId>/${connection.user}, that the user has rds_iam ` +
    `(GRANT rds_iam TO ${connection.user}), and that IAM database authentication is turned on for the database`
  );
}
