// npm run bench -- dashboards [--notifications=200000]
// Measured in one run on one machine, against Porthole running as its own process, in headless Chromium:
//   page    a 12-card dashboard over the demo notification data: from the page's request to the last card
//           drawn, with a cold result cache (variable values no run has used) and a warm one (the same again)
//   api     POST /api/runs of a saved 10,000-row query: answered from the cache vs run afresh (refresh: true)
//   viewers two viewers opening the dashboard at the same moment with a cold cache: executions counted
//           in the audit log (run.started) against the cards' number
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchBrowser } from '../test/support/browser.js';
import { BENCH_TABLE, startEngineBench, type EngineBench } from './engine-setup.js';

const ROUNDS = 5;
/** An API call takes milliseconds: more rounds for a steadier median. */
const API_ROUNDS = 25;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const best = (values: number[]) => Math.min(...values);
const ms = (value: number) => `${Math.round(value)} ms`;
const spread = (values: number[]) => `${ms(best(values))} / ${ms(median(values))}`;
/** For API calls of a few milliseconds, to a tenth. */
const spreadTenths = (values: number[]) => `${best(values).toFixed(1)} ms / ${median(values).toFixed(1)} ms`;

const RANGE = 'created_at >= {start_time} and created_at < {end_time}';
const CARD_SQL = [
  `select date_trunc('day', created_at) as day, notification_type, count(*) as n from notifications where ${RANGE} group by 1, 2 order by 1`,
  `select sent_by, count(*) filter (where notification_status like '%failure') * 100.0 / count(*) as failure_pct from notifications where ${RANGE} and sent_by is not null group by 1`,
  `select notification_status, count(*) as n from notifications where ${RANGE} group by 1 order by 2 desc`,
  `select count(*) as total from notifications where ${RANGE}`,
  `select s.name, count(*) as n from notifications n join services s on s.id = n.service_id where n.created_at >= {start_time} and n.created_at < {end_time} group by 1 order by 2 desc limit 10`,
  `select t.name, avg(extract(epoch from n.sent_at - n.created_at)) as secs from notifications n join templates t on t.id = n.template_id where n.sent_at is not null and n.created_at >= {start_time} and n.created_at < {end_time} group by 1 order by 2 desc limit 10`,
  `select date_trunc('hour', created_at) as hour, count(*) as n from notifications where ${RANGE} group by 1 order by 1`,
  `select key_type, count(*) as n from notifications where ${RANGE} group by 1`,
  `select count(distinct service_id) as services from notifications where ${RANGE}`,
  `select notification_type, sum(billable_units) as units from notifications where ${RANGE} group by 1`,
  `select date_trunc('week', created_at) as week, count(*) filter (where notification_status = 'delivered') as delivered from notifications where ${RANGE} group by 1 order by 1`,
  `select count(*) filter (where notification_status like '%failure') as failures from notifications where ${RANGE}`,
];

async function api<T>(bench: EngineBench, path: string, body: unknown, cookie = bench.cookies[0]!): Promise<T> {
  const response = await fetch(`${bench.origin}${path}`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', origin: bench.origin },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** A page script (the bench has no DOM types): every chart on the page has drawn or failed. */
const CHARTS_DRAWN = `[...document.querySelectorAll('[data-testid="chart"]')].every((chart) => ['drawn', 'failed'].includes(chart.dataset.status))`;

/** One browser context per user, kept across visits: its HTTP cache holds the app's code, as for a person. */
const contexts = new Map<string, BrowserContext>();
async function contextFor(browser: Browser, bench: EngineBench, cookie: string): Promise<BrowserContext> {
  let context = contexts.get(cookie);
  if (!context) {
    const [name, value] = cookie.split('=') as [string, string];
    context = await browser.newContext({ viewport: { width: 1440, height: 1600 } });
    await context.addCookies([{ name, value, url: bench.origin }]);
    contexts.set(cookie, context);
  }
  return context;
}

/** Opens the dashboard in a new tab and resolves with ms from the request to every card drawn. */
async function timeDashboard(browser: Browser, bench: EngineBench, url: string, cookie: string): Promise<number> {
  const page = await (await contextFor(browser, bench, cookie)).newPage();
  try {
    const started = performance.now();
    await page.goto(`${bench.origin}${url}`);
    await page.locator('[data-testid="dashboard"][data-all-drawn="true"]').waitFor({ timeout: 120_000 });
    // Drawn means drawn: every chart's Vega view has rendered (or failed), not only its rows arrived.
    await page.waitForFunction(CHARTS_DRAWN, undefined, { timeout: 120_000 });
    return performance.now() - started;
  } finally {
    await page.close();
  }
}

export async function benchDashboards(args: string[]): Promise<void> {
  const notifications = Number(args.find((a) => a.startsWith('--notifications='))?.split('=')[1] ?? 200_000);
  const log = (line: string) => console.log(`[dashboards] ${line}`);
  execFileSync(process.execPath, ['scripts/build-web.mjs', '--if-stale'], { stdio: 'inherit' });
  log(`starting Porthole with ${notifications.toLocaleString('en-US')} demo notifications…`);
  const bench = await startEngineBench({ rows: 10_000, users: 3, log, notifications });
  const browser = await launchBrowser();
  const tools = new pg.Client({ connectionString: bench.toolsUrl });
  await tools.connect();
  try {
    const queryIds: string[] = [];
    for (const [i, sql] of CARD_SQL.entries()) {
      const created = await api<{ id: string }>(bench, '/api/queries', {
        name: `Card ${i + 1}`,
        dataSource: 'main',
        sql,
        variables: [
          { name: 'start_time', kind: 'timestamp' },
          { name: 'end_time', kind: 'timestamp' },
        ],
        chart: { version: 1, type: 'auto' },
      });
      queryIds.push(created.id);
    }
    const dashboard = await api<{ id: string; url: string }>(bench, '/api/dashboards', {
      name: 'Bench dashboard',
      variables: [
        { name: 'start_time', kind: 'timestamp', default: 'now-365d' },
        { name: 'end_time', kind: 'timestamp', default: 'now' },
      ],
      cards: queryIds.map((queryId, i) => ({
        id: `c${i}`,
        queryId,
        queryVersion: null,
        title: null,
        display: i % 4 === 3 ? 'number' : i % 4 === 2 ? 'table' : 'chart',
        x: (i % 3) * 4,
        y: Math.floor(i / 3) * 5,
        w: 4,
        h: 5,
        variableMap: {},
      })),
    });
    // Each round's own range (a second apart): nothing cached for it until its cold visit.
    const urlFor = (round: number) =>
      `${dashboard.url}?start_time=2020-01-01T00:00:${String(round).padStart(2, '0')}Z&end_time=2100-01-01T00:00Z`;

    // Warms Chromium, each user's HTTP cache (the app and the lazy chart code) and the pools.
    for (const cookie of bench.cookies) await timeDashboard(browser, bench, urlFor(59), cookie);
    const cold: number[] = [];
    const warm: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      cold.push(await timeDashboard(browser, bench, urlFor(round), bench.cookies[0]!));
      warm.push(await timeDashboard(browser, bench, urlFor(round), bench.cookies[1]!));
    }
    log(`page, 12 cards, request to last card drawn (best / median of ${ROUNDS}):`);
    log(`  cold cache ${spread(cold)}   warm cache ${spread(warm)}   warm/cold ${(median(warm) / median(cold)).toFixed(2)}`);

    const big = await api<{ id: string }>(bench, '/api/queries', {
      name: 'Ten thousand rows',
      dataSource: 'main',
      sql: `select * from ${BENCH_TABLE} order by id limit 10000`,
    });
    // The API's time: from the request to the response's last byte (parsing 1 MB of JSON is the client's
    // own work, the same for both, and would only blur the ratio); the totals at its end are checked.
    const timeRun = async (refresh: boolean) => {
      const started = performance.now();
      const response = await fetch(`${bench.origin}/api/runs`, {
        method: 'POST',
        headers: { cookie: bench.cookies[0]!, 'content-type': 'application/json', origin: bench.origin },
        body: JSON.stringify({ queryId: big.id, ...(refresh ? { refresh } : {}) }),
      });
      const body = await response.text();
      const elapsed = performance.now() - started;
      if (response.status !== 200 || !body.includes('"rowCount":10000,') || body.includes('"cached":') === refresh) {
        throw new Error(`unexpected run result: ${response.status} ${body.slice(-300)}`);
      }
      return elapsed;
    };
    for (const refresh of [true, false, true, false]) await timeRun(refresh); // warms both paths
    const fresh: number[] = [];
    const hit: number[] = [];
    for (let round = 0; round < API_ROUNDS; round++) {
      fresh.push(await timeRun(true));
      hit.push(await timeRun(false));
    }
    log(`api, 10,000 rows x 8 columns, request to last byte (best / median of ${API_ROUNDS}; the ratio of bests / of medians):`);
    const ratio = (pick: (values: number[]) => number) => (pick(hit) / pick(fresh)).toFixed(2);
    log(`  fresh run ${spreadTenths(fresh)}   cache hit ${spreadTenths(hit)}   hit/fresh ${ratio(best)} / ${ratio(median)}`);

    const concurrentUrl = urlFor(42);
    const before = await tools.query(
      `select count(*)::int as n from audit_events where action = 'run.started' and params::text like '%00:00:42Z%'`,
    );
    await Promise.all([
      timeDashboard(browser, bench, concurrentUrl, bench.cookies[1]!),
      timeDashboard(browser, bench, concurrentUrl, bench.cookies[2]!),
    ]);
    const after = await tools.query(
      `select count(*)::int as n from audit_events where action = 'run.started' and params::text like '%00:00:42Z%'`,
    );
    const hits = await tools.query(
      `select count(*)::int as n from audit_events where action = 'run.cache_hit' and params::text like '%00:00:42Z%'`,
    );
    log(
      `viewers, two at once, cold cache: ${after.rows[0].n - before.rows[0].n} executions and ${hits.rows[0].n} cache hits for ${CARD_SQL.length * 2} card views`,
    );
  } finally {
    await tools.end();
    await browser.close();
    await bench.stop();
  }
}
