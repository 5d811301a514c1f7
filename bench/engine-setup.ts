// The engine benchmark's world: a PostgreSQL (BENCH_DATABASE_URL, a superuser URL, or an embedded one),
// Porthole's tools DB, a main DB with the shipped reader role and a generated table of N rows x 8 mixed
// columns, signed-in users, and Porthole itself running as a separate process (so its memory is its own).
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { databaseUrl, provisionDemoMainDatabase, provisionToolsDatabase } from '../schema/provision.js';
import { ToolsDbSessionStore } from '../server/auth/session-store.js';
import { upsertUser } from '../server/auth/users.repository.js';
import { loadConfig } from '../server/config.js';
import { migrateToolsDb } from '../server/db/migrate.js';
import { connectToolsDb } from '../server/db/tools-db.js';
import { startEmbeddedCluster } from '../server/demo/embedded-cluster.js';
import { SERVER_NODE_FLAGS } from '../server/lib/node-flags.js';
import { sessionCookieName, sessionSigner } from '../server/plugins/session.js';
import { freePort, startProcess, TSX_LOADER, waitForHttp, type RunningProcess } from '../test/support/processes.js';

export const BENCH_TABLE = 'bench_wide';

export interface EngineBench {
  origin: string;
  /** Cookie headers of signed-in editors, one per user. */
  cookies: string[];
  readerUrl: string;
  /** Porthole's own database (as the serving role), for counting audit events. */
  toolsUrl: string;
  server: RunningProcess;
  /** The server's resident memory now, in bytes (from /proc). */
  serverRss(): Promise<number>;
  stop(): Promise<void>;
}

const password = () => randomBytes(18).toString('base64url');

async function generateTable(url: string, rows: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`
      create table ${BENCH_TABLE} as
      select i as id,
             (i::bigint * 7919) % 1000003 as n_int,
             (i::numeric / 7)::numeric(14, 4) as amount,
             md5(i::text) as label,
             timestamptz '2024-01-01' + i * interval '17 seconds' as created_at,
             (i % 3 = 0) as flag,
             (i % 1000)::float8 / 3 as ratio,
             case when i % 5 = 0 then null else 'status_' || (i % 7) end as status
      from generate_series(1, ${rows}) i`);
    await client.query(`alter table ${BENCH_TABLE} add primary key (id)`);
    await client.query(`vacuum analyze ${BENCH_TABLE}`);
  } finally {
    await client.end();
  }
}

export async function startEngineBench(options: {
  rows: number;
  users: number;
  log: (line: string) => void;
  /** Rows of demo notification data in the main database (default 1,000). */
  notifications?: number;
  /** Extra Node options for the server process, e.g. --cpu-prof --cpu-prof-dir=DIR (written when it stops). */
  serverNodeArgs?: string[];
  /** A superuser URL of the server to use (the soak restarts its own); default BENCH_DATABASE_URL or an embedded one. */
  adminUrl?: string;
  /** More environment for the server (settings the benchmark needs). */
  serverEnv?: Record<string, string>;
}): Promise<EngineBench> {
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    let adminUrl = options.adminUrl ?? process.env.BENCH_DATABASE_URL;
    if (!adminUrl) {
      const parent = await mkdtemp(path.join(os.tmpdir(), 'porthole-bench-engine-'));
      await chmod(parent, 0o755);
      cleanups.push(() => rm(parent, { recursive: true, force: true }));
      const cluster = await startEmbeddedCluster({ dir: path.join(parent, 'pg'), log: () => undefined });
      cleanups.push(() => cluster.stop());
      adminUrl = cluster.adminUrl;
    }
    const id = randomBytes(4).toString('hex');
    const tools = {
      database: `porthole_bench_tools_${id}`,
      ownerRole: `porthole_bench_owner_${id}`,
      ownerPassword: password(),
      appRole: `porthole_bench_app_${id}`,
      appPassword: password(),
    };
    const main = { database: `porthole_bench_main_${id}`, readerRole: `porthole_bench_reader_${id}`, readerPassword: password() };
    const admin = async (sql: string) => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(sql).finally(() => client.end());
    };
    cleanups.push(async () => {
      for (const database of [tools.database, main.database]) await admin(`drop database if exists ${database} with (force)`);
      for (const role of [tools.appRole, tools.ownerRole, main.readerRole]) await admin(`drop role if exists ${role}`);
    });

    const { ownerUrl, appUrl } = await provisionToolsDatabase(adminUrl, tools);
    await migrateToolsDb({ toolsDatabaseUrl: appUrl, toolsMigrationUrl: ownerUrl });
    options.log(`generating ${options.rows.toLocaleString('en-US')} rows x 8 columns…`);
    const { readerUrl } = await provisionDemoMainDatabase(adminUrl, { ...main, notifications: options.notifications ?? 1_000 });
    await generateTable(databaseUrl(adminUrl, { database: main.database }), options.rows);

    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const sessionSecret = randomBytes(48).toString('base64url');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: origin,
      TOOLS_DATABASE_URL: appUrl,
      TOOLS_MIGRATION_URL: ownerUrl,
      MAIN_DATABASE_URL: readerUrl,
      SESSION_SECRET: sessionSecret,
      OIDC_ISSUER_URL: 'http://127.0.0.1:1/unused',
      OIDC_CLIENT_ID: 'porthole-bench',
      OIDC_CLIENT_SECRET: 'unused-in-the-benchmark',
      QUERY_TIMEOUT_MS: '300000',
      MAX_ROWS: '1000000',
      MAX_RESULT_BYTES: String(2 * 1024 * 1024 * 1024),
      MAX_CSV_ROWS: String(options.rows),
      LOG_LEVEL: 'warn',
      ...options.serverEnv,
    };
    const config = loadConfig(env);

    // Signed-in editors: real user rows and sessions, cookies signed as the server signs them.
    const toolsDb = connectToolsDb(appUrl, { max: 2 });
    const cookies: string[] = [];
    try {
      const idleMs = config.session.idleMinutes * 60_000;
      const store = new ToolsDbSessionStore(toolsDb.db, { idleMs, absoluteMs: config.session.maxHours * 3_600_000 });
      for (let i = 0; i < options.users; i++) {
        const row = await upsertUser(toolsDb.db, {
          issuer: 'https://idp.bench',
          subject: `bench-${i}`,
          email: `bench-${i}@example.com`,
          name: `Bench ${i}`,
          groups: [],
          role: 'editor',
        });
        const sid = randomBytes(24).toString('base64url');
        const user = { id: row.id, email: row.email, name: row.name, role: row.role, groups: row.groups };
        const data = {
          createdAt: Date.now(),
          user,
          cookie: { originalMaxAge: idleMs, expires: new Date(Date.now() + idleMs).toISOString(), path: '/', httpOnly: true },
        };
        await new Promise<void>((resolve, reject) =>
          store.set(sid, data as never, (error?: unknown) => (error ? reject(error as Error) : resolve())),
        );
        cookies.push(`${sessionCookieName(origin)}=${encodeURIComponent(sessionSigner(sessionSecret).sign(sid))}`);
      }
    } finally {
      await toolsDb.close();
    }

    // Started as `npm start` and the image start it: with the server's V8 flags.
    const server = startProcess(
      process.execPath,
      [...SERVER_NODE_FLAGS, ...(options.serverNodeArgs ?? []), '--import', TSX_LOADER, 'server/main.ts'],
      {
        cwd: process.cwd(),
        env,
      },
    );
    cleanups.push(async () => {
      server.signalGroup('SIGTERM');
      await server.exited;
    });
    await waitForHttp(`${origin}/readyz`, 120_000, server);

    const serverRss = async () => {
      const status = await readFile(`/proc/${server.child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    };
    return { origin, cookies, readerUrl, toolsUrl: appUrl, server, serverRss, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
