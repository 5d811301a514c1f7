// npm run bench [-- name...]: runs the named benchmarks (all by default) and prints their measurements.
import { benchAudit } from './audit-scale.js';
import { benchDashboards } from './dashboards.js';
import { benchEngine } from './engine-bench.js';
import { benchStartup } from './startup.js';

/** Each benchmark gets the command line, for its own options (e.g. audit --events 1000000). */
const benchmarks: Record<string, (args: string[]) => Promise<void>> = {
  startup: benchStartup,
  audit: benchAudit,
  engine: benchEngine,
  dashboards: benchDashboards,
};

const args = process.argv.slice(2);
const wanted = args.filter((arg) => !arg.startsWith('-') && !/^\d+$/.test(arg));
for (const name of wanted.length ? wanted : Object.keys(benchmarks)) {
  const bench = benchmarks[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benchmarks).join(', ')}`);
    process.exit(2);
  }
  await bench(args);
}
