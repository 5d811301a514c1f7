import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { readDataSourcesFile } from './config-file.js';
import { createDataSourceRegistry } from './registry.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'porthole-sources-'));
function file(content: unknown): string {
  const name = path.join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(name, typeof content === 'string' ? content : JSON.stringify(content));
  return name;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('DATA_SOURCES_FILE', () => {
  it('reads sources with a URL or the name of the variable holding it', () => {
    const sources = readDataSourcesFile(
      file({
        sources: [
          {
            id: 'replica',
            name: 'Orders replica',
            urlEnv: 'REPLICA_URL',
            timeoutMs: 60000,
            maxRows: 50000,
            groups: ['analysts'],
          },
          { id: 'warehouse', url: 'postgres://reader@warehouse/db', maxConnections: 3 },
          { id: 'main', groups: ['engineering'] },
        ],
      }),
      { REPLICA_URL: 'postgres://reader@replica/orders' },
    );
    expect(sources).toEqual([
      {
        id: 'replica',
        name: 'Orders replica',
        url: 'postgres://reader@replica/orders',
        timeoutMs: 60000,
        maxRows: 50000,
        maxConnections: undefined,
        groups: ['analysts'],
      },
      {
        id: 'warehouse',
        name: 'warehouse',
        url: 'postgres://reader@warehouse/db',
        timeoutMs: undefined,
        maxRows: undefined,
        maxConnections: 3,
        groups: undefined,
      },
      {
        id: 'main',
        name: 'main',
        url: undefined,
        timeoutMs: undefined,
        maxRows: undefined,
        maxConnections: undefined,
        groups: ['engineering'],
      },
    ]);
  });

  it('reports every problem at once', () => {
    const found = problems(() =>
      readDataSourcesFile(
        file([
          { id: 'Bad Id', url: 'mysql://x' },
          { id: 'a', urlEnv: 'MISSING_URL', timeoutMs: 5, colour: 'red' },
          { id: 'b' },
          { id: 'b', url: 'postgres://x/y', groups: 'analysts' },
        ]),
        {},
      ),
    );
    expect(found).toEqual([
      'DATA_SOURCES_FILE source #1 needs an "id" of lower-case letters, digits, _ or - (got "Bad Id")',
      'DATA_SOURCES_FILE source #1: the URL must be postgres://…',
      'data source "a" has an unknown key "colour"',
      'data source "a": the environment variable MISSING_URL (its "urlEnv") is not set',
      'data source "a": "timeoutMs" must be a whole number from 100 to 3600000',
      'data source "b" needs "url" or "urlEnv"',
      'data source "b": "groups" must be a list of group names',
      'data source "b" is listed twice',
    ]);
    expect(problems(() => readDataSourcesFile(file('{not json'), {}))[0]).toMatch(/could not be read as JSON/);
  });

  it('builds the registry: main from MAIN_DATABASE_URL with its settings from the file, then the others', async () => {
    const config = loadConfig({
      TOOLS_DATABASE_URL: 'postgres://app@127.0.0.1/tools',
      MAIN_DATABASE_URL: 'postgres://reader@127.0.0.1/main',
      SESSION_SECRET: 'test-only-9f2c7e1ab84d4c6e8a3b5d7f0e2c4a6b8d',
      OIDC_ISSUER_URL: 'http://127.0.0.1:1/unused',
      OIDC_CLIENT_ID: 'x',
      OIDC_CLIENT_SECRET: 'y',
      DATA_SOURCES_FILE: file({
        sources: [
          { id: 'main', name: 'Production', maxRows: 500 },
          { id: 'replica', urlEnv: 'R' },
        ],
      }),
    });
    const registry = createDataSourceRegistry(config, { R: 'postgres://reader@127.0.0.1/replica' });
    try {
      expect(registry.list().map((s) => [s.id, s.name, s.settings?.maxRows])).toEqual([
        ['main', 'Production', 500],
        ['replica', 'replica', undefined],
      ]);
    } finally {
      await registry.close();
    }
  });

  it('reads access tiers and sensitive columns, and names every mistake in them', () => {
    const [main] = readDataSourcesFile(
      file({
        sources: [
          {
            id: 'main',
            sensitiveColumns: ['public.users.email', 'notifications.to'],
            tiers: [{ name: 'standard' }, { name: 'pii', urlEnv: 'PII_URL', groups: ['support'], readsSensitive: true }],
          },
        ],
      }),
      { PII_URL: 'postgres://pii@db/app' },
    );
    expect(main!.tiers).toEqual([
      { name: 'standard', url: undefined, groups: [], readsSensitive: false },
      { name: 'pii', url: 'postgres://pii@db/app', groups: ['support'], readsSensitive: true },
    ]);
    expect(main!.sensitiveColumns).toEqual([
      { schema: 'public', table: 'users', column: 'email' },
      { schema: 'public', table: 'notifications', column: 'to' },
    ]);

    expect(
      problems(() =>
        readDataSourcesFile(
          file({
            sources: [
              {
                id: 'main',
                sensitiveColumns: ['email'],
                tiers: [
                  { name: 'standard', groups: ['everyone'] },
                  { name: 'pii', groups: ['support'] },
                  { name: 'PII', url: 'http://x', readsSensitive: 'yes', role: 'x' },
                  { name: 'standard', urlEnv: 'UNSET_URL', groups: ['a'] },
                ],
              },
            ],
          }),
          {},
        ),
      ),
    ).toEqual([
      'data source "main" tier #1: the first tier is everyone\'s (everyone allowed on the source uses it), so it names no groups',
      'data source "main" tier #2 needs "url" or "urlEnv" (only the first tier may use the source\'s URL)',
      'data source "main" tier #3 has an unknown key "role"',
      'data source "main" tier #3 needs a "name" of lower-case letters, digits, _ or - (got "PII")',
      'data source "main" tier #3: the URL must be postgres://…',
      'data source "main" tier #3: a tier above the first must name the groups that may use it',
      'data source "main" tier #3: "readsSensitive" must be true or false',
      'data source "main": tier "standard" is listed twice',
      'data source "main" tier #4: the environment variable UNSET_URL (its "urlEnv") is not set',
      'data source "main": sensitive column "email" is not schema.table.column or table.column',
    ]);
  });
});
