// npm run bench [-- name...]: runs the named benchmarks (all but the soak by default) and prints their measurements.
import { benchAudit } from './audit-scale.js';
import { benchDashboards } from './dashboards.js';
import { benchEngine } from './engine-bench.js';
import { benchSoak } from './soak.js';
import { benchStartup } from './startup.js';

/** Each benchmark gets the command line, for its own options (e.g. audit --events 1000000). */
const benchmarks: Record<string, (args: string[]) => Promise<void>> = {
  startup: benchStartup,
  audit: benchAudit,
  engine: benchEngine,
  dashboards: benchDashboards,
  soak: benchSoak,
};
/** Run only when named: the soak takes ten minutes and restarts its PostgreSQL. */
const ONLY_WHEN_NAMED = new Set(['soak']);

const args = process.argv.slice(2);
const wanted = args.filter((arg) => !arg.startsWith('-') && !/^\d+$/.test(arg));
for (const name of wanted.length ? wanted : Object.keys(benchmarks).filter((name) => !ONLY_WHEN_NAMED.has(name))) {
  const bench = benchmarks[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benchmarks).join(', ')}`);
    process.exit(2);
  }
  await bench(args);
}
