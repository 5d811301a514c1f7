// Issue "production hardening", item 1: a serving role that could rewrite the audit log (superuser,
// owner of the table, its schema or its trigger functions, able to SET ROLE to the owner, CREATEROLE)
// is named by the check, makes /readyz 503 in production, and stops a production start-up with the fix.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../server/app.js';
import { auditLogRewriteRisks } from '../../server/audit/serving-role-check.js';
import { loadConfig } from '../../server/config.js';
import { createDataSourceRegistry } from '../../server/data-sources/registry.js';
import { connectToolsDb } from '../../server/db/tools-db.js';
import { databaseUrl } from '../../schema/provision.js';
import { TEST_SESSION_SECRET } from '../support/app.js';
import {
  adminQuery,
  adminUrl,
  createMainDatabase,
  createToolsDatabase,
  type TestMainDatabase,
  type TestToolsDatabase,
} from '../support/databases.js';
import { freePort, serverMainArgs, startProcess, waitForHttp } from '../support/processes.js';

const productionEnv = (tools: string, main: string, port: number, migration?: string): Record<string, string> => ({
  NODE_ENV: 'production',
  PORT: String(port),
  PUBLIC_URL: 'https://porthole.example.com',
  TOOLS_DATABASE_URL: tools,
  ...(migration ? { TOOLS_MIGRATION_URL: migration } : {}),
  MAIN_DATABASE_URL: main,
  SESSION_SECRET: TEST_SESSION_SECRET,
  OIDC_ISSUER_URL: 'https://login.example.com',
  OIDC_CLIENT_ID: 'porthole',
  OIDC_CLIENT_SECRET: 'unused-here',
});

async function risksAs(url: string): Promise<string[]> {
  const tools = connectToolsDb(url, { max: 1 });
  try {
    return await auditLogRewriteRisks(tools.db);
  } finally {
    await tools.close();
  }
}

describe('a serving role that could rewrite the audit log', () => {
  let tools: TestToolsDatabase;
  let main: TestMainDatabase;
  const extraRoles: string[] = [];

  /** A login role on the tools database with the given attributes and memberships. */
  async function roleUrl(attributes: string, memberOf?: string): Promise<string> {
    const role = `porthole_probe_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    extraRoles.push(role);
    await adminQuery(`create role ${role} login password '${password}' ${attributes}`);
    if (memberOf) await adminQuery(`grant ${memberOf} to ${role}`);
    await adminQuery(`grant connect on database ${tools.database} to ${role}`);
    return databaseUrl(adminUrl(), { database: tools.database, user: role, password });
  }

  beforeAll(async () => {
    [tools, main] = await Promise.all([createToolsDatabase(), createMainDatabase()]);
  });
  afterAll(async () => {
    for (const role of extraRoles) {
      await adminQuery(`revoke connect on database ${tools.database} from ${role}`).catch(() => undefined);
      await adminQuery(`drop role if exists ${role}`).catch(() => undefined);
    }
    await Promise.all([tools?.drop(), main?.drop()]);
  });

  it('finds nothing for the two-role setup (the serving role may only append)', async () => {
    expect(await risksAs(tools.appUrl)).toEqual([]);
  });

  it('names the owner, a superuser, a member of the owner and CREATEROLE', async () => {
    expect((await risksAs(tools.ownerUrl)).join('\n')).toMatch(/owns the audit table/);
    expect((await risksAs(tools.adminUrl)).join('\n')).toMatch(/is a superuser/);
    const member = await risksAs(await roleUrl('', tools.ownerRole));
    expect(member.join('\n')).toMatch(new RegExp(`can SET ROLE to the audit table's owner "${tools.ownerRole}"`));
    expect((await risksAs(await roleUrl('createrole'))).join('\n')).toMatch(/has CREATEROLE/);
  });

  it('makes /readyz 503 in production and reports it in development', async () => {
    for (const [nodeEnv, status] of [
      ['production', 503],
      ['development', 200],
    ] as const) {
      const env = productionEnv(tools.ownerUrl, main.readerUrl, 3000);
      const config = loadConfig({ ...env, NODE_ENV: nodeEnv });
      const toolsDb = connectToolsDb(tools.ownerUrl, { max: 2 });
      const dataSources = createDataSourceRegistry(config, {});
      const app = await buildApp({ config, toolsDb, dataSources });
      try {
        const res = await app.inject({ method: 'GET', url: '/readyz' });
        expect(res.json().checks.audit_log).toBe('rewritable');
        expect(res.statusCode).toBe(status);
      } finally {
        await app.close();
        await toolsDb.close();
        await dataSources.close();
      }
    }
  });

  it('stops a production start-up with the problems and the fix, and starts with two roles', async () => {
    const start = (env: Record<string, string>) =>
      startProcess(process.execPath, serverMainArgs(), {
        cwd: process.cwd(),
        env: { PATH: process.env.PATH, ...env },
      });
    const refused = start(productionEnv(tools.ownerUrl, main.readerUrl, await freePort()));
    expect(await refused.exited, refused.output()).toBe(1);
    expect(refused.output()).toMatch(/failed to start: the audit log could be rewritten by the server/);
    expect(refused.output()).toMatch(/owns the audit table/);
    expect(refused.output()).toMatch(/TOOLS_MIGRATION_URL/);

    const port = await freePort();
    const accepted = start(productionEnv(tools.appUrl, main.readerUrl, port, tools.ownerUrl));
    try {
      await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, accepted);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(((await ready.json()) as { checks: Record<string, string> }).checks.audit_log).toBe('append-only');
    } finally {
      accepted.signalGroup('SIGTERM');
      await accepted.exited;
    }
  }, 120_000);
});
