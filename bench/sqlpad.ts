// SQLPad 3.1.0's JSON of the same query, side by side with Porthole's (issue #19): installed from npm into
// a temporary folder at bench time, with pg ^8.11.0 in place of its pg 7 (which does not run on current
// Node), started with its defaults on a Node it runs on, and asked for all rows through its API (basic
// auth). It does not start on Node 23 or later (its nedb store calls util.isDate, removed in Node 23), so
// it runs on SQLPAD_NODE, else the first `node` on PATH older than 23 (Debian's node 20 here), else this
// Node; the line says which. If it cannot be installed or run, the reason is printed and the other ratios
// stand.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BENCH_TABLE, type EngineBench } from './engine-setup.js';
import { freePort } from '../test/support/processes.js';

const run = promisify(execFile);
const ROUNDS = 2;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** A Node SQLPad 3.1.0 runs on (see the header), with its version. */
async function sqlpadNode(): Promise<{ path: string; version: string }> {
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'node'));
  for (const candidate of [process.env.SQLPAD_NODE, ...onPath]) {
    if (!candidate) continue;
    const version = await run(candidate, ['--version']).then(
      ({ stdout }) => stdout.trim(),
      () => undefined,
    );
    if (version && Number(/^v(\d+)\./.exec(version)?.[1]) < 23) return { path: candidate, version };
  }
  return { path: process.execPath, version: process.version };
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

export async function benchSqlpad(
  bench: EngineBench,
  rows: number,
  porthole?: { jsonBest: number; jsonMedian: number; growth: number },
): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-bench-sqlpad-'));
  let child: ReturnType<typeof spawn> | undefined;
  let node = { path: process.execPath, version: process.version };
  try {
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({ private: true, dependencies: { sqlpad: '3.1.0' }, overrides: { pg: '^8.11.0' } }),
    );
    try {
      await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: dir, timeout: 600_000 });
    } catch (error) {
      console.log(`engine sqlpad: could not install sqlpad@3.1.0 from npm: ${lastLines(error)}`);
      return;
    }
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const admin = { email: 'bench@example.com', password: 'bench-password-not-secret' };
    let output = '';
    node = await sqlpadNode();
    child = spawn(node.path, [path.join(dir, 'node_modules/sqlpad/server.js')], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        SQLPAD_IP: '127.0.0.1',
        SQLPAD_PORT: String(port),
        SQLPAD_DB_PATH: path.join(dir, 'db'),
        SQLPAD_ADMIN: admin.email,
        SQLPAD_ADMIN_PASSWORD: admin.password,
        SQLPAD_QUERY_RESULT_MAX_ROWS: String(rows),
        SQLPAD_PASSPHRASE: 'bench-passphrase-not-secret',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000)));
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-2000)));
    const auth = `Basic ${Buffer.from(`${admin.email}:${admin.password}`).toString('base64')}`;
    const api = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`${origin}${url}`, {
        method,
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 200)}`);
      return { text, bytes: Buffer.byteLength(text) };
    };
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) {
        console.log(
          `engine sqlpad: sqlpad@3.1.0 cannot run on Node ${node.version}: ` +
            (output
              .split('\n')
              .filter((l) => /error/i.test(l) && !/^\s+at /.test(l))
              .join(' | ') || output.trim().slice(-300)),
        );
        return;
      }
      const up = await fetch(`${origin}/api/app`).then(
        (res) => res.ok,
        () => false,
      );
      if (up) break;
      if (Date.now() > deadline) {
        console.log(`engine sqlpad: sqlpad@3.1.0 did not start on Node ${node.version}: ${output.trim().slice(-300)}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const reader = new URL(bench.readerUrl);
    const created = JSON.parse(
      (
        await api('POST', '/api/connections', {
          name: 'bench',
          driver: 'postgres',
          host: reader.hostname,
          port: reader.port,
          database: reader.pathname.slice(1),
          username: decodeURIComponent(reader.username),
          password: decodeURIComponent(reader.password),
        })
      ).text,
    ) as { connection: { _id: string } };
    const times: number[] = [];
    let growth = 0;
    let bytes = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const baseline = await rssOf(child.pid!);
      let peak = baseline;
      const sampler = setInterval(() => void rssOf(child!.pid!).then((rss) => (peak = Math.max(peak, rss))), 10);
      const started = performance.now();
      try {
        const result = await api('POST', '/api/query-result', {
          connectionId: created.connection._id,
          cacheKey: `bench-${round}`,
          queryText: `select * from ${BENCH_TABLE}`,
        });
        bytes = result.bytes;
        if (!result.text.includes(`"rows":[`)) throw new Error(`unexpected answer ${result.text.slice(0, 200)}`);
      } finally {
        clearInterval(sampler);
      }
      times.push(performance.now() - started);
      growth = Math.max(growth, peak - baseline);
    }
    const bestTime = Math.min(...times);
    console.log(
      `engine sqlpad: sqlpad@3.1.0 (pg ^8.11.0) on Node ${node.version} (Porthole on ${process.version}), the same ${rows.toLocaleString('en-US')} rows as JSON ` +
        `(${mb(bytes)}): best of ${ROUNDS} ${seconds(bestTime)}, RSS growth ${mb(growth)}` +
        (porthole
          ? `; Porthole JSON ${seconds(porthole.jsonBest)} and ${mb(porthole.growth)}: ` +
            `${(bestTime / porthole.jsonBest).toFixed(1)} x faster (target >= 3), ` +
            `${porthole.growth > 0 ? (growth / porthole.growth).toFixed(1) : '∞'} x less memory growth (target >= 4)`
          : ''),
    );
  } catch (error) {
    console.log(`engine sqlpad: sqlpad@3.1.0 failed on Node ${node.version}: ${lastLines(error)} ${output_tail(child)}`);
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((resolve) => child!.once('exit', resolve));
    }
    await rm(dir, { recursive: true, force: true });
  }
}

function output_tail(child: ReturnType<typeof spawn> | undefined): string {
  return child?.exitCode !== null && child?.exitCode !== undefined ? `(exit ${child.exitCode})` : '';
}

function lastLines(error: unknown): string {
  const text = (error as { stderr?: string }).stderr || (error instanceof Error ? error.message : String(error));
  return text.trim().split('\n').slice(-3).join(' | ');
}
