// npm run bench -- engine [--rows=1000000] [--only=csv,json,stream,sqlpad,concurrency] [--server-cpu-prof=DIR]
// Measured in one run on one machine, against Porthole running as its own process:
//   csv          1M rows x 8 columns through POST /api/runs.csv vs COPY (query) TO STDOUT through the raw
//                driver (and psql when installed); the server's peak RSS growth while streaming
//   json         10k and 100k rows through POST /api/runs vs the same query through the raw driver
//   stream       all rows as JSON through POST /api/runs vs the same rows as CSV (ratio), the server's
//                peak RSS growth during the JSON response, and the time to the first NDJSON batch of a
//                500,000-row result against the raw driver's first row of the same query
//   concurrency  200 concurrent small runs from 40 users: throughput, p50/p99, and one user's burst
//                answered by the per-user cap (the only 429s expected)
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import pg from 'pg';
import { BENCH_TABLE, startEngineBench, type EngineBench } from './engine-setup.js';
import { benchSqlpad } from './sqlpad.js';

/** Rounds per measurement; the best and the median are printed (on a shared machine the best is the steadier). */
const ROUNDS = 5;
const CSV_SQL = `select * from ${BENCH_TABLE}`;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const best = (values: number[]) => Math.min(...values);
/** "best / median" of some timings. */
const spread = (values: number[]) => `${ms(best(values))} / ${ms(median(values))}`;
const ratios = (a: number[], b: number[]) => `${(best(a) / best(b)).toFixed(2)} / ${(median(a) / median(b)).toFixed(2)}`;
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const ms = (value: number) => `${Math.round(value)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

/** POSTs JSON; resolves with status, byte count and (optionally) the body, after the last byte. */
function post(
  bench: EngineBench,
  path: string,
  body: unknown,
  cookie: string,
  keepBody = true,
): Promise<{ status: number; bytes: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${bench.origin}${path}`, {
      method: 'POST',
      agent,
      headers: { cookie, origin: bench.origin, 'content-type': 'application/json' },
    });
    request.on('response', (response) => {
      let bytes = 0;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (keepBody) chunks.push(chunk);
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, bytes, body: keepBody ? Buffer.concat(chunks).toString() : '' }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

/** COPY ... TO STDOUT through pg's own connection (simple protocol), counting the bytes. */
class CopyToCounter {
  bytes = 0;
  readonly done: Promise<number>;
  private resolve!: (bytes: number) => void;
  private reject!: (error: unknown) => void;
  constructor(private readonly text: string) {
    this.done = new Promise((resolve, reject) => ((this.resolve = resolve), (this.reject = reject)));
  }
  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }
  handleCopyData(message: { chunk: Buffer }): void {
    this.bytes += message.chunk.length;
  }
  handleCommandComplete(): void {}
  handleReadyForQuery(): void {
    this.resolve(this.bytes);
  }
  handleError(error: unknown): void {
    this.reject(error);
  }
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {}
  handleCopyInResponse(): void {}
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

async function benchCsv(bench: EngineBench, rows: number): Promise<void> {
  const client = new pg.Client({ connectionString: bench.readerUrl });
  await client.connect();
  const copyText = `COPY (${CSV_SQL}) TO STDOUT WITH (FORMAT csv, HEADER true)`;
  const psql = (() => {
    try {
      execFileSync('psql', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  const api: number[] = [];
  const driver: number[] = [];
  const viaPsql: number[] = [];
  let peakGrowth = 0;
  let apiBytes = 0;
  let driverBytes = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const copy = await timed(() => {
        const counter = new CopyToCounter(copyText);
        client.query(counter as unknown as pg.Submittable);
        return counter.done;
      });
      driver.push(copy.ms);
      driverBytes = copy.value;

      const baseline = await bench.serverRss();
      let peak = baseline;
      const sampler = setInterval(() => void bench.serverRss().then((rss) => (peak = Math.max(peak, rss))), 10);
      const download = await timed(() =>
        post(bench, '/api/runs.csv', { dataSource: 'main', sql: CSV_SQL }, bench.cookies[0]!, false),
      );
      clearInterval(sampler);
      if (download.value.status !== 200) throw new Error(`CSV download failed: ${download.value.status}`);
      api.push(download.ms);
      apiBytes = download.value.bytes;
      peakGrowth = Math.max(peakGrowth, peak - baseline);

      if (psql) {
        const run = await timed(
          () =>
            new Promise<void>((resolve, reject) => {
              const child = spawn(
                'psql',
                [bench.readerUrl, '-X', '-q', '-c', `\\copy (${CSV_SQL}) to stdout with (format csv, header)`],
                {
                  stdio: ['ignore', 'ignore', 'inherit'],
                },
              );
              child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`psql exited ${code}`))));
            }),
        );
        viaPsql.push(run.ms);
      }
    }
  } finally {
    await client.end();
  }
  if (apiBytes !== driverBytes) console.log(`engine csv: WARNING the API sent ${apiBytes} bytes, COPY ${driverBytes}`);
  console.log(
    `engine csv: ${rows.toLocaleString('en-US')} rows x 8 columns, ${mb(apiBytes)}; best / median of ${ROUNDS}: ` +
      `API ${spread(api)}, raw driver COPY ${spread(driver)}${psql ? `, psql \\copy ${spread(viaPsql)}` : ''}`,
  );
  console.log(
    `engine csv: ratio API / raw COPY ${ratios(api, driver)} (target <= 1.3)` +
      (psql ? `, API / psql ${ratios(api, viaPsql)}` : '') +
      `; server peak RSS growth ${mb(peakGrowth)} (target <= 64 MB)`,
  );
}

async function benchJson(bench: EngineBench): Promise<void> {
  const client = new pg.Client({ connectionString: bench.readerUrl });
  await client.connect();
  try {
    for (const limit of [10_000, 100_000]) {
      const sql = `select * from ${BENCH_TABLE} order by id limit ${limit}`;
      const api: number[] = [];
      const driver: number[] = [];
      for (let round = 0; round < ROUNDS + 1; round++) {
        const raw = await timed(() => client.query(sql));
        const viaApi = await timed(async () => {
          const res = await post(bench, '/api/runs', { dataSource: 'main', sql }, bench.cookies[0]!);
          if (res.status !== 200) throw new Error(`run failed: ${res.status} ${res.body.slice(0, 200)}`);
          return JSON.parse(res.body) as { rowCount: number };
        });
        if (viaApi.value.rowCount !== limit || raw.value.rowCount !== limit) throw new Error('row counts differ');
        if (round === 0) continue; // warm-up
        driver.push(raw.ms);
        api.push(viaApi.ms);
      }
      console.log(
        `engine json: ${limit.toLocaleString('en-US')} rows x 8 columns; best / median of ${ROUNDS}: API ${spread(api)} ` +
          `(HTTP + JSON.parse), raw driver ${spread(driver)}; ratio ${ratios(api, driver)} (target <= 2)`,
      );
    }
  } finally {
    await client.end();
  }
}

/** Simple-protocol query through pg's connection that notes when the first row arrives and drops the rest. */
class FirstRowTimer {
  firstRowAt?: number;
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (error: unknown) => void;
  constructor(private readonly text: string) {
    this.done = new Promise((resolve, reject) => ((this.resolve = resolve), (this.reject = reject)));
  }
  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }
  handleDataRow(): void {
    this.firstRowAt ??= performance.now();
  }
  handleReadyForQuery(): void {
    this.resolve();
  }
  handleError(error: unknown): void {
    this.reject(error);
  }
  handleRowDescription(): void {}
  handleCommandComplete(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {}
  handleCopyInResponse(): void {}
  handleCopyData(): void {}
}

/** POSTs and reads the body to its end, noting when `marker` first appears; keeps only the last bytes. */
function timedPost(
  bench: EngineBench,
  path: string,
  body: unknown,
  accept: string,
  marker?: string,
): Promise<{ status: number; bytes: number; tail: string; markerAt?: number; endAt: number }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${bench.origin}${path}`, {
      method: 'POST',
      agent,
      headers: { cookie: bench.cookies[0]!, origin: bench.origin, 'content-type': 'application/json', accept },
    });
    request.on('response', (response) => {
      let bytes = 0;
      let tail = '';
      let markerAt: number | undefined;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        const text = tail + chunk.toString('latin1');
        if (marker && markerAt === undefined && text.includes(marker)) markerAt = performance.now();
        tail = text.slice(-400);
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, bytes, tail, markerAt, endAt: performance.now() }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

async function withPeakRss<T>(bench: EngineBench, fn: () => Promise<T>): Promise<{ value: T; growth: number }> {
  const baseline = await bench.serverRss();
  let peak = baseline;
  const sampler = setInterval(() => void bench.serverRss().then((rss) => (peak = Math.max(peak, rss))), 10);
  try {
    const value = await fn();
    return { value, growth: Math.max(0, peak - baseline) };
  } finally {
    clearInterval(sampler);
  }
}

async function benchStream(bench: EngineBench, rows: number): Promise<{ jsonBest: number; jsonMedian: number; growth: number }> {
  const rounds = 3;
  const json: number[] = [];
  const csv: number[] = [];
  let growth = 0;
  let jsonBytes = 0;
  let csvBytes = 0;
  for (let round = 0; round < rounds; round++) {
    const viaCsv = await timed(() => timedPost(bench, '/api/runs.csv', { dataSource: 'main', sql: CSV_SQL }, 'text/csv'));
    if (viaCsv.value.status !== 200) throw new Error(`CSV failed: ${viaCsv.value.status}`);
    csv.push(viaCsv.ms);
    csvBytes = viaCsv.value.bytes;
    const viaJson = await withPeakRss(bench, () =>
      timed(() => timedPost(bench, '/api/runs', { dataSource: 'main', sql: CSV_SQL }, 'application/json')),
    );
    const { value: result } = viaJson.value;
    if (result.status !== 200 || !new RegExp(`"rowCount":${rows},"truncated":false`).test(result.tail)) {
      throw new Error(`JSON failed: ${result.status} ${result.tail.slice(-200)}`);
    }
    json.push(viaJson.value.ms);
    jsonBytes = result.bytes;
    growth = Math.max(growth, viaJson.growth);
  }
  console.log(
    `engine stream: ${rows.toLocaleString('en-US')} rows x 8 columns; best / median of ${rounds}: JSON ${spread(json)} (${mb(jsonBytes)}), ` +
      `CSV ${spread(csv)} (${mb(csvBytes)}); ratio JSON / CSV ${ratios(json, csv)} (target <= 1.5); ` +
      `server peak RSS growth during JSON ${mb(growth)} (target <= 64 MB)`,
  );

  // Time to the first NDJSON batch of a 500,000-row result, against the raw driver's first row.
  const half = Math.min(rows, 500_000);
  const sql = `select * from ${BENCH_TABLE} limit ${half}`;
  const client = new pg.Client({ connectionString: bench.readerUrl });
  await client.connect();
  const api: number[] = [];
  const driver: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const timer = new FirstRowTimer(sql);
      const started = performance.now();
      client.query(timer as unknown as pg.Submittable);
      await timer.done;
      driver.push(timer.firstRowAt! - started);
      const requested = performance.now();
      const res = await timedPost(bench, '/api/runs', { dataSource: 'main', sql }, 'application/x-ndjson', '{"rows":[');
      if (res.status !== 200 || res.markerAt === undefined) throw new Error(`NDJSON failed: ${res.status}`);
      api.push(res.markerAt - requested);
    }
  } finally {
    await client.end();
  }
  const overhead = api.map((value, i) => value - driver[i]!);
  console.log(
    `engine stream: first NDJSON batch of ${half.toLocaleString('en-US')} rows, best / median of ${ROUNDS}: API ${spread(api)} ` +
      `from the request (session, checks, run.started, BEGIN, describe), raw driver first row ${spread(driver)}; ` +
      `difference ${spread(overhead)} (target <= 50 ms)`,
  );
  return { jsonBest: best(json), jsonMedian: median(json), growth };
}

async function benchConcurrency(bench: EngineBench, rows: number): Promise<void> {
  const workers = 200;
  const runsPerWorker = 20;
  const users = bench.cookies.length;
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const sql = `select id, label, amount, created_at from ${BENCH_TABLE} where id = {id}`;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      const cookie = bench.cookies[worker % users]!;
      for (let i = 0; i < runsPerWorker; i++) {
        const id = 1 + Math.floor(Math.random() * rows);
        const t0 = performance.now();
        const res = await post(bench, '/api/runs', { dataSource: 'main', sql, params: { id } }, cookie, false);
        latencies.push(performance.now() - t0);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const ok = statuses.get(200) ?? 0;
  const others = [...statuses].filter(([status]) => status !== 200);
  console.log(
    `engine concurrency: ${workers} concurrent clients (${users} users x ${workers / users}), ${workers * runsPerWorker} runs in ${elapsed.toFixed(1)} s: ` +
      `${(ok / elapsed).toFixed(0)} runs/s, p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}; ` +
      `non-200: ${others.length ? others.map(([s, n]) => `${n} x ${s}`).join(', ') : 'none'}`,
  );

  // One user's burst past the per-user cap: the deliberate 429s.
  const burst = await Promise.all(
    Array.from({ length: 20 }, () =>
      post(bench, '/api/runs', { dataSource: 'main', sql: 'select pg_sleep(0.5)' }, bench.cookies[0]!).then((res) => res),
    ),
  );
  const limited = burst.filter((res) => res.status === 429);
  const code = limited[0] ? (JSON.parse(limited[0].body) as { error: { code: string } }).error.code : 'none';
  console.log(
    `engine concurrency: one user's burst of 20: ${burst.filter((r) => r.status === 200).length} ran, ${limited.length} answered 429 (${code})`,
  );
}

export async function benchEngine(args: string[] = process.argv.slice(2)): Promise<void> {
  const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
  const rows = Number(option('rows') ?? 1_000_000);
  const only = (option('only') ?? 'csv,json,stream,sqlpad,concurrency').split(',');
  const profileDir = option('server-cpu-prof');
  const bench = await startEngineBench({
    rows,
    users: 40,
    log: (line) => console.log(`engine: ${line}`),
    serverNodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  try {
    console.log(
      `engine: Porthole (pid ${bench.server.child.pid}) on ${bench.origin}, ${rows.toLocaleString('en-US')} rows ready`,
    );
    if (only.includes('csv')) await benchCsv(bench, rows);
    if (only.includes('json')) await benchJson(bench);
    const stream = only.includes('stream') ? await benchStream(bench, rows) : undefined;
    if (only.includes('sqlpad')) await benchSqlpad(bench, rows, stream);
    if (only.includes('concurrency')) await benchConcurrency(bench, rows);
  } finally {
    agent.destroy();
    await bench.stop();
  }
}
