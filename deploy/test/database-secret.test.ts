// The container's URLs from Secrets Manager documents verify the database's certificate by default.
import { describe, expect, it } from 'vitest';
import { databaseUrlFromSecret } from '../container/database-secret.mjs';

const document = JSON.stringify({ username: 'porthole_app', password: 'p@ss', host: 'db.internal', port: 5432, dbname: 'tools' });

describe('databaseUrlFromSecret', () => {
  it('defaults to verify-full and adds the CA bundle DATABASE_CA_FILE names', () => {
    const url = new URL(databaseUrlFromSecret(document, undefined, '/app/certs/rds-ca-bundle.pem'));
    expect(url.searchParams.get('sslmode')).toBe('verify-full');
    expect(url.searchParams.get('sslrootcert')).toBe('/app/certs/rds-ca-bundle.pem');
  });

  it('keeps an explicit mode that verifies nothing free of a CA bundle', () => {
    const url = new URL(databaseUrlFromSecret(document, 'disable', '/app/certs/rds-ca-bundle.pem'));
    expect(url.searchParams.get('sslmode')).toBe('disable');
    expect(url.searchParams.has('sslrootcert')).toBe(false);
  });
});
