// npm run bench -- soak [--minutes=10] [--users=20] [--restart-every=120]
// Porthole under steady use while its PostgreSQL restarts (issue #20): simulated users mix runs, CSV
// downloads, saves and cancels against Porthole running as its own process, and the one PostgreSQL server
// holding its tools DB and its data source is restarted (fast shutdown, then start) every two minutes.
// Prints the requests, the errors by status and code (only 503s around a restart are allowed), runs
// started against runs closed in the audit log (must be equal), the server's RSS at start and end, and
// p50/p99 of runs outside the restarts. Exits non-zero when an allowed bound is broken.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startRestartableCluster } from '../test/support/restartable-cluster.js';
import { BENCH_TABLE, startEngineBench, type EngineBench } from './engine-setup.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** A request is "around a restart" from the stop until this long after the server accepts connections again. */
const RESTART_MARGIN_MS = 3_000;
/** After the last restart, how long the closing events retried in the background may take. */
const SETTLE_TIMEOUT_MS = 60_000;
/** Codes a client may get while a database is away. */
const UNAVAILABLE = ['tools_database_unavailable', 'data_source_unavailable'];

/**
 * The errors allowed around a restart (by "status code"): 503 with an unavailability code; the same code
 * ending a body that had started (200: a CSV download cut by the restart, its last line the error); and a
 * cancel answered 404 because the restart had already ended its run.
 */
function allowedAroundRestart(key: string): boolean {
  const [action, status, code] = key.split(' ');
  return (
    (UNAVAILABLE.includes(code!) && (status === '503' || status === '200')) ||
    (action === 'cancel' && status === '404' && code === 'not_found')
  );
}

interface Outcome {
  action: string;
  runId?: string;
  /** A cancel that found its run not yet (or no longer) running, the run completing normally. */
  raced?: boolean;
  /** The error's message, for the first of each kind printed. */
  message?: string;
  /** HTTP status, and the error code (from the body, a trailing NDJSON/JSON member or a CSV error line). */
  status: number;
  code?: string;
  startedAt: number;
  endedAt: number;
  /** The connection failed (no HTTP answer at all). */
  transport?: string;
}

interface Answer {
  status: number;
  body: string;
  complete: boolean;
}

function option(args: string[], name: string, fallback: number): number {
  const found = args.find((arg) => arg.startsWith(`--${name}=`));
  const value = found ? Number(found.slice(name.length + 3)) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

function send(bench: EngineBench, cookie: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${bench.origin}${path}`, {
      method,
      agent,
      headers: {
        cookie,
        origin: bench.origin,
        accept: path.endsWith('.csv') ? 'text/csv' : 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
    });
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), complete: response.complete });
      };
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', done);
      response.on('error', () => undefined);
      response.on('close', done);
    });
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The error code an answer carries: an error body, a JSON document's error member, a CSV's error line. */
function codeOf(answer: Answer, csv: boolean): string | undefined {
  if (csv && answer.status === 200) {
    if (answer.complete) return undefined;
    const last = answer.body.trimEnd().split('\n').at(-1) ?? '';
    try {
      return (JSON.parse(last) as { error?: { code?: string } }).error?.code ?? 'cut_without_error_line';
    } catch {
      return 'cut_without_error_line';
    }
  }
  try {
    const parsed = JSON.parse(answer.body) as { error?: { code?: string } };
    return parsed.error?.code;
  } catch {
    return answer.status >= 400 ? 'not_json' : answer.complete ? undefined : 'cut';
  }
}

const percentile = (values: number[], p: number) => {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function auditCounts(toolsUrl: string): Promise<{ started: number; closed: number; unclosed: number; doubly: number }> {
  const client = new pg.Client({ connectionString: toolsUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ started: string; closed: string; unclosed: string; doubly: string }>(`
      with started as (select details->>'runId' as id from audit_events where action = 'run.started'),
           closings as (select details->>'runId' as id, count(*) as n from audit_events
                        where action in ('run.finished', 'run.failed', 'run.cancelled', 'run.abandoned')
                          and details->>'runId' in (select id from started)
                        group by 1)
      select (select count(*) from started) as started,
             (select coalesce(sum(n), 0) from closings) as closed,
             (select count(*) from started s where not exists (select 1 from closings c where c.id = s.id)) as unclosed,
             (select count(*) from closings where n > 1) as doubly`);
    const row = rows[0]!;
    return {
      started: Number(row.started),
      closed: Number(row.closed),
      unclosed: Number(row.unclosed),
      doubly: Number(row.doubly),
    };
  } finally {
    await client.end();
  }
}

export async function benchSoak(args: string[]): Promise<void> {
  const minutes = option(args, 'minutes', 10);
  const users = option(args, 'users', 20);
  const restartEverySeconds = option(args, 'restart-every', 120);
  const log = (line: string) => console.log(`soak: ${line}`);

  log('starting a PostgreSQL server of its own and Porthole as its own process…');
  const cluster = await startRestartableCluster();
  const bench = await startEngineBench({
    rows: 200_000,
    users,
    log,
    adminUrl: cluster.adminUrl,
    serverEnv: {
      QUERY_TIMEOUT_MS: '30000',
      MAX_ROWS: '10000',
      MAX_CSV_ROWS: '50000',
      MAX_RESULT_BYTES: String(64 * 1024 * 1024),
    },
  });
  const outcomes: Outcome[] = [];
  const restarts: Array<{ stoppedAt: number; backAt: number }> = [];
  let failure: string | undefined;
  try {
    // Warm-up: every user's first run (sessions, catalog), so the start RSS is the serving one.
    await Promise.all(
      bench.cookies.map((cookie) => send(bench, cookie, 'POST', '/api/runs', { dataSource: 'main', sql: 'select 1' })),
    );
    const startedAt = Date.now();
    const endAt = startedAt + minutes * 60_000;
    log(`${users} users for ${minutes} min, PostgreSQL restarted every ${restartEverySeconds} s`);

    const record = async (action: string, csv: boolean, request: () => Promise<Answer>, runId?: string) => {
      const started = Date.now();
      try {
        const answer = await request();
        const code = codeOf(answer, csv);
        const message = code ? answer.body.slice(-300) : undefined;
        outcomes.push({ action, runId, status: answer.status, code, message, startedAt: started, endedAt: Date.now() });
        return answer;
      } catch (error) {
        const transport = (error as NodeJS.ErrnoException).code ?? String(error);
        outcomes.push({ action, runId, status: 0, transport, startedAt: started, endedAt: Date.now() });
        return undefined;
      }
    };

    const user = async (index: number) => {
      const cookie = bench.cookies[index]!;
      let queryId: string | undefined;
      /** The saved query's current version, as the user's page knows it (unknown after a failed save). */
      let version: number | undefined;
      while (Date.now() < endAt) {
        const dice = Math.random();
        const from = Math.floor(Math.random() * 190_000);
        if (dice < 0.4) {
          await record('run', false, () =>
            send(bench, cookie, 'POST', '/api/runs', {
              dataSource: 'main',
              sql: `select * from ${BENCH_TABLE} where id between ${from} and ${from + 500} order by id`,
            }),
          );
        } else if (dice < 0.6) {
          await record('csv', true, () =>
            send(bench, cookie, 'POST', '/api/runs.csv', {
              dataSource: 'main',
              sql: `select * from ${BENCH_TABLE} where id > ${from} order by id limit 20000`,
            }),
          );
        } else if (dice < 0.8) {
          // A save: the first creates the user's query, the next ones save new versions of it. After a
          // failed save the page reloads the query first, as a person would, to learn its current version.
          if (queryId && version === undefined) {
            const read = await record('read', false, () => send(bench, cookie, 'GET', `/api/queries/${queryId}`));
            if (read?.status === 200) version = (JSON.parse(read.body) as { currentVersion: number }).currentVersion;
          }
          // Still unknown (the read failed too): the page shows its error, nothing is saved this time.
          if (queryId && version === undefined) continue;
          const sql = `select ${from} as n`;
          const answer = await record('save', false, () =>
            queryId
              ? send(bench, cookie, 'PUT', `/api/queries/${queryId}`, { baseVersion: version, sql })
              : send(bench, cookie, 'POST', '/api/queries', { name: `Soak ${index}`, dataSource: 'main', sql }),
          );
          if (answer && (answer.status === 200 || answer.status === 201)) {
            const saved = JSON.parse(answer.body) as { id: string; currentVersion: number };
            queryId = saved.id;
            version = saved.currentVersion;
          } else {
            version = undefined;
          }
        } else {
          // A slow run, cancelled by its user a moment later.
          const runId = randomUUID();
          const run = record(
            'cancelled-run',
            false,
            () => send(bench, cookie, 'POST', '/api/runs', { dataSource: 'main', sql: 'select pg_sleep(3)', runId }),
            runId,
          );
          await sleep(500 + Math.random() * 1000);
          const cancel = await record('cancel', false, () => send(bench, cookie, 'POST', `/api/runs/${runId}/cancel`, {}), runId);
          const ran = await run;
          // A cancel that arrived before the server had the run (it was still being checked, on a busy
          // machine) finds nothing to cancel, and the run completes: a race of the user's, not an error.
          if (cancel?.status === 404 && ran?.status === 200)
            outcomes.find((o) => o.runId === runId && o.action === 'cancel')!.raced = true;
        }
        await sleep(100 + Math.random() * 400);
      }
    };

    const restarter = async () => {
      for (let next = startedAt + restartEverySeconds * 1000; next < endAt; next += restartEverySeconds * 1000) {
        await sleep(next - Date.now());
        const stoppedAt = Date.now();
        await cluster.stop('fast');
        await cluster.start();
        restarts.push({ stoppedAt, backAt: Date.now() });
        log(`restart ${restarts.length}: down for ${Date.now() - stoppedAt} ms`);
      }
    };
    const progress = setInterval(() => log(`${outcomes.length} requests so far`), 60_000);
    const rssSamples: number[] = [];
    const sampling = setInterval(
      () =>
        void bench.serverRss().then(
          (rss) => rssSamples.push(rss),
          () => undefined,
        ),
      5_000,
    );
    await Promise.all([restarter(), ...Array.from({ length: users }, (_, i) => user(i))]);
    clearInterval(progress);
    clearInterval(sampling);
    if (bench.server.child.exitCode !== null) throw new Error(`the server exited:\n${bench.server.output().slice(-4000)}`);

    // Closing events retried in the background land once the tools DB is back; wait for them.
    let counts = await auditCounts(bench.toolsUrl);
    const settleBy = Date.now() + SETTLE_TIMEOUT_MS;
    while (counts.unclosed > 0 && Date.now() < settleBy) {
      await sleep(500);
      counts = await auditCounts(bench.toolsUrl);
    }
    const rssEnd = await bench.serverRss();

    const aroundRestart = (o: Outcome) =>
      restarts.some((r) => o.startedAt <= r.backAt + RESTART_MARGIN_MS && o.endedAt >= r.stoppedAt);
    // A cancelled run answers 409 query_cancelled by design: that is its success.
    const expected = (o: Outcome) =>
      (o.status >= 200 && o.status < 400 && !o.code) ||
      (o.action === 'cancelled-run' && o.code === 'query_cancelled') ||
      o.raced === true;
    const errors = new Map<string, { during: number; outside: number; sample?: string }>();
    for (const o of outcomes) {
      if (expected(o)) continue;
      const key = o.transport ? `${o.action} connection ${o.transport}` : `${o.action} ${o.status} ${o.code ?? '-'}`;
      const entry = errors.get(key) ?? { during: 0, outside: 0, sample: o.message };
      if (aroundRestart(o)) entry.during++;
      else entry.outside++;
      errors.set(key, entry);
    }
    const runTimes = outcomes
      .filter((o) => o.action === 'run' && o.status === 200 && !o.code && !aroundRestart(o))
      .map((o) => o.endedAt - o.startedAt);
    const raced = outcomes.filter((o) => o.raced).length;
    const byAction = new Map<string, number>();
    for (const o of outcomes) byAction.set(o.action, (byAction.get(o.action) ?? 0) + 1);

    console.log('');
    console.log(`soak: ${minutes} min, ${users} users, ${restarts.length} restarts of PostgreSQL (fast shutdown + start)`);
    console.log(`  restarts, down for:        ${restarts.map((r) => `${r.backAt - r.stoppedAt} ms`).join(', ') || '-'}`);
    console.log(`  requests:                  ${outcomes.length} (${[...byAction].map(([a, n]) => `${a} ${n}`).join(', ')})`);
    console.log(`  cancels that raced their run (404, the run then completed): ${raced}`);
    console.log('  errors by status and code: (around a restart / outside)');
    if (!errors.size) console.log('    none');
    for (const [key, { during, outside, sample }] of [...errors].sort()) {
      console.log(`    ${key.padEnd(48)} ${during} / ${outside}`);
      if (outside && sample) console.log(`      e.g. ${sample.replace(/\s+/g, ' ')}`);
    }
    console.log(
      `  runs started / closed:     ${counts.started} / ${counts.closed} (unclosed ${counts.unclosed}, closed twice ${counts.doubly})`,
    );
    // The first sample is 5 s into the load (right after start-up the process still holds its compiler's memory).
    console.log(
      `  server RSS start / end:    ${mb(rssSamples[0] ?? NaN)} / ${mb(rssEnd)} (peak under load ${mb(Math.max(...rssSamples))})`,
    );
    const perMinute = Array.from({ length: Math.ceil(rssSamples.length / 12) }, (_, m) =>
      mb(Math.max(...rssSamples.slice(m * 12, m * 12 + 12))),
    );
    console.log(`  server RSS, peak per minute: ${perMinute.join(', ')}`);
    console.log(
      `  runs outside restarts:     p50 ${percentile(runTimes, 50)} ms, p99 ${percentile(runTimes, 99)} ms (${runTimes.length} runs of 501 rows)`,
    );

    const outside = [...errors].filter(([, e]) => e.outside > 0).map(([key]) => key);
    const notAllowed = [...errors].filter(([key]) => !allowedAroundRestart(key)).map(([key]) => key);
    if (outside.length) failure = `errors outside the restarts: ${outside.join(', ')}`;
    else if (notAllowed.length) failure = `errors other than "unavailable" around the restarts: ${notAllowed.join(', ')}`;
    else if (counts.started !== counts.closed || counts.doubly) failure = 'runs started and closed differ';
  } finally {
    await bench.stop();
    await cluster.destroy();
  }
  if (failure) {
    console.log(`soak: FAILED: ${failure}`);
    process.exitCode = 1;
  } else {
    console.log('soak: every bound held');
  }
}
