// Measures `npm start` in demo mode from a fresh data folder: seconds until /readyz answers on the first
// start (cluster + 500k-row demo data) and on the second (reuse). Run: npm run bench -- startup
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePortPair, postgresProcessesUsing, startProcess, waitForHttp } from '../test/support/processes.js';

async function timedStart(dataDir: string): Promise<number> {
  const port = await freePortPair();
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), PORTHOLE_DATA_DIR: dataDir };
  for (const name of ['TOOLS_DATABASE_URL', 'MAIN_DATABASE_URL', 'SESSION_SECRET', 'NODE_ENV']) delete env[name];
  const proc = startProcess('npm', ['start', '--silent'], { cwd: process.cwd(), env });
  try {
    return await waitForHttp(`http://127.0.0.1:${port}/readyz`, 180_000, proc);
  } finally {
    proc.signalGroup('SIGINT');
    await proc.exited;
  }
}

export async function benchStartup(): Promise<void> {
  const parent = await mkdtemp(path.join(os.tmpdir(), 'porthole-bench-start-'));
  await chmod(parent, 0o755);
  const dataDir = path.join(parent, '.porthole');
  try {
    const first = await timedStart(dataDir);
    const second = await timedStart(dataDir);
    console.log(
      `startup: first start ${(first / 1000).toFixed(1)} s to /readyz (target 60 s), second ${(second / 1000).toFixed(1)} s (target 5 s)`,
    );
    console.log(`startup: postgres processes left behind: ${postgresProcessesUsing(parent).length}`);
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
}
