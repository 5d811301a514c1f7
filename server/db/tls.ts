// TLS for every database connection. With a CA bundle configured (DATABASE_CA_FILE, or libpq's
// PGSSLROOTCERT), a postgres URL that does not choose its own TLS settings gets `sslmode=verify-full`
// and that bundle, so the server must prove both its CA and its host name; on AWS the image carries the
// Amazon RDS CA bundle and the stack points DATABASE_CA_FILE at it. A URL that names its own `sslmode`
// or `sslrootcert` keeps them: the operator chose.
import { readFileSync } from 'node:fs';

/** Adds the CA bundle and verify-full to a URL that names neither `sslmode` nor `sslrootcert`. */
export function withDatabaseTls(url: string, caFile: string | undefined): string {
  if (!caFile) return url;
  const parsed = new URL(url);
  if (!parsed.searchParams.has('sslrootcert')) parsed.searchParams.set('sslrootcert', caFile);
  if (!parsed.searchParams.has('sslmode')) parsed.searchParams.set('sslmode', 'verify-full');
  return parsed.toString();
}

/**
 * pg's TLS options for a connection given by parts instead of a URL (rds-iam sources): the same as
 * `sslmode=verify-full&sslrootcert=<caFile>` in a URL, i.e. the server must present a certificate that
 * chains to the bundle and names the host.
 */
export function verifyFullTlsOptions(caFile: string): { ca: string; rejectUnauthorized: true } {
  return { ca: readFileSync(caFile, 'utf8'), rejectUnauthorized: true };
}

/** Why a CA bundle file cannot be used, or undefined when it holds at least one certificate. */
export function caBundleProblem(caFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(caFile, 'utf8');
  } catch (error) {
    return `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  return text.includes('-----BEGIN CERTIFICATE-----') ? undefined : 'holds no PEM certificate';
}

const UNTRUSTED_CA = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * A connection failure in words an operator can act on: which check of the server's certificate failed
 * (its CA, its host name, its dates), or that the server offers no TLS at all. Other errors pass through.
 */
export function describeDatabaseConnectionError(error: unknown, url: string): string {
  // The migrator and pg wrap the socket's error; the TLS code sits somewhere down the cause chain.
  let inner: unknown = error;
  for (let depth = 0; inner instanceof Error && !(inner as NodeJS.ErrnoException).code && depth < 5; depth++) {
    inner = inner.cause;
  }
  const code = inner instanceof Error ? ((inner as NodeJS.ErrnoException).code ?? '') : '';
  const message = inner instanceof Error ? inner.message : error instanceof Error ? error.message : String(error);
  let host = '(unknown host)';
  try {
    host = new URL(url).hostname;
  } catch {
    // keep the placeholder
  }
  if (UNTRUSTED_CA.has(code)) {
    return `TLS: the certificate of the database at ${host} is not signed by a CA in the configured bundle (DATABASE_CA_FILE / sslrootcert): ${message}`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `TLS: the certificate of the database does not name the host ${host} (verify-full checks the host name): ${message}`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return `TLS: the certificate of the database at ${host} is outside its validity dates: ${message}`;
  }
  if (/does not support SSL/i.test(message)) {
    return `TLS: the database at ${host} does not offer TLS, but the connection requires it: ${message}`;
  }
  return message;
}
