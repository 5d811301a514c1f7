// A postgres:// URL from a Secrets Manager database secret (the JSON document RDS and
// rds.DatabaseSecret keep: username, password, host, port, dbname). Shared by start.mjs and
// setup-tools-database.mjs.

/** pg's sslmode values. RDS certificates come from Amazon's own CA, which Node does not trust by itself:
 * the image carries Amazon's RDS CA bundle and DATABASE_CA_FILE names it, so verify-full is the default. */
const SSL_MODES = ['disable', 'no-verify', 'require', 'verify-ca', 'verify-full'];

/** The document's fields; `defaults` fills gaps (the master user's document may name no database). */
export function parseDatabaseSecret(document, defaults = {}) {
  let secret;
  try {
    secret = { ...defaults, ...JSON.parse(document) };
  } catch {
    throw new Error('is not a JSON document');
  }
  const missing = ['username', 'password', 'host', 'port', 'dbname'].filter(
    (key) => secret?.[key] === undefined || secret[key] === '',
  );
  if (missing.length) throw new Error(`lacks ${missing.join(', ')}`);
  return secret;
}

export function databaseUrlFromSecret(document, sslMode = 'verify-full', caFile = process.env.DATABASE_CA_FILE) {
  if (!SSL_MODES.includes(sslMode)) throw new Error(`TOOLS_DATABASE_SSLMODE must be one of ${SSL_MODES.join(', ')}`);
  const secret = parseDatabaseSecret(document);
  const url = new URL('postgres://placeholder');
  url.username = encodeURIComponent(secret.username);
  url.password = encodeURIComponent(secret.password);
  url.hostname = secret.host;
  url.port = String(secret.port);
  url.pathname = `/${encodeURIComponent(secret.dbname)}`;
  url.searchParams.set('sslmode', sslMode);
  if (caFile && sslMode.startsWith('verify')) url.searchParams.set('sslrootcert', caFile);
  return url.toString();
}
