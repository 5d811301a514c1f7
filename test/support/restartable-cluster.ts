// A PostgreSQL server of a test's own, stopped, started and restarted under a running Porthole (the fault
// tests in test/faults/ and the soak benchmark). The run's shared server is never stopped: other test files
// use it at the same time. Stopping signals the postmaster the way `pg_ctl stop -m <mode>` does (smart:
// SIGTERM, fast: SIGINT, immediate: SIGQUIT); starting runs the same data folder again on the same port.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEmbeddedCluster, type EmbeddedCluster } from '../../server/demo/embedded-cluster.js';
import { freePort } from './processes.js';

export type StopMode = 'smart' | 'fast' | 'immediate';

const SIGNALS: Record<StopMode, NodeJS.Signals> = { smart: 'SIGTERM', fast: 'SIGINT', immediate: 'SIGQUIT' };

export interface RestartableCluster {
  /** Superuser URL. */
  adminUrl: string;
  port: number;
  /** Signals the postmaster; resolves once it has exited (smart waits for every session to end). */
  stop(mode?: StopMode): Promise<void>;
  /** Sends the stop signal and returns at once (a smart shutdown in progress refuses new connections). */
  beginStop(mode: StopMode): Promise<void>;
  /** Runs the server again on the same data and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Whether the server is running (between start() and stop()). */
  readonly running: boolean;
  /** What the server logged since it was created (with logStatements, every statement it ran). */
  log(): string;
  /** Stops the server for good and removes its folder. */
  destroy(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startRestartableCluster(options: { logStatements?: boolean } = {}): Promise<RestartableCluster> {
  // Under /tmp (mode 1777): the server runs as the postgres user when the tests run as root.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-fault-pg-'));
  let logged = '';
  const clusterOptions = {
    dir,
    log: () => undefined,
    preferredPort: await freePort(),
    settings: options.logStatements ? { log_statement: 'all' } : ({} as Record<string, string>),
    serverLog: (text: string) => (logged += text),
  };
  let cluster: EmbeddedCluster = await startEmbeddedCluster(clusterOptions);
  const port = cluster.port;
  const pidFile = path.join(dir, 'pg', 'postmaster.pid');
  const postmasterPid = async () => Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  /** The running (or stopping) postmaster. */
  let postmaster: number | undefined = await postmasterPid();
  let running = true;

  const signal = (mode: StopMode): number => {
    if (postmaster === undefined) throw new Error('the server is not running');
    running = false;
    try {
      process.kill(postmaster, SIGNALS[mode]);
    } catch (error) {
      // Already gone: a fast shutdown begun earlier (beginStop) can finish before the stop() that waits for it.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    return postmaster;
  };
  const stop = async (mode: StopMode = 'fast') => {
    const pid = signal(mode);
    while (alive(pid)) await sleep(20);
    postmaster = undefined;
  };
  return {
    adminUrl: cluster.adminUrl,
    port,
    get running() {
      return running;
    },
    stop,
    beginStop: async (mode) => void signal(mode),
    start: async () => {
      if (postmaster !== undefined) throw new Error('the server is still running');
      cluster = await startEmbeddedCluster({ ...clusterOptions, preferredPort: port });
      if (cluster.port !== port) {
        await cluster.stop();
        throw new Error(`port ${port} was taken while the server was stopped`);
      }
      postmaster = await postmasterPid();
      running = true;
    },
    log: () => logged,
    destroy: async () => {
      if (postmaster !== undefined) await stop('fast');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
