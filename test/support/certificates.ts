// Throwaway certificates for TLS tests: two CAs ("ca" and "other-ca") and a server certificate that
// "ca" signed for localhost / 127.0.0.1 only. Made with the openssl command line (.ci/run installs it).
import { execFileSync } from 'node:child_process';
import { chmod, chown, writeFile } from 'node:fs/promises';
import path from 'node:path';

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

export interface TestCertificates {
  /** The CA that signed server.pem. */
  ca: string;
  /** A CA that signed nothing here. */
  otherCa: string;
  serverCert: string;
  serverKey: string;
}

/**
 * Writes `<name>.pem` and `<name>.key` into `dir`: a self-signed certificate (a CA, or a server's own)
 * for `subject`, valid for the names in `altNames` (e.g. "DNS:localhost", "IP:127.0.0.1") when given.
 */
export function selfSignedCertificate(
  dir: string,
  name: string,
  subject: string,
  altNames: string[] = [],
): { cert: string; key: string } {
  const san = altNames.length ? ['-addext', `subjectAltName=${altNames.join(',')}`] : [];
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${subject}`,
      ...san,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
  return { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
}

/** Writes ca.pem, other-ca.pem, server.pem and server.key into `dir`. */
export async function makeTestCertificates(dir: string): Promise<TestCertificates> {
  for (const ca of ['ca', 'other-ca']) selfSignedCertificate(dir, ca, `Porthole test ${ca}`);
  await writeFile(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'], dir);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    ],
    dir,
  );
  // PostgreSQL insists on a private key only its own user can read (it runs as "postgres" when we are root).
  await chmod(path.join(dir, 'server.key'), 0o600);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    await chown(path.join(dir, 'server.key'), uid, gid);
  }
  const file = (name: string) => path.join(dir, name);
  return { ca: file('ca.pem'), otherCa: file('other-ca.pem'), serverCert: file('server.pem'), serverKey: file('server.key') };
}
