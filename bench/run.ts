// npm run bench [-- name...]: runs the named benchmarks (all by default) and prints their measurements.
import { benchStartup } from './startup.js';

const benchmarks: Record<string, () => Promise<void>> = { startup: benchStartup };

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
for (const name of wanted.length ? wanted : Object.keys(benchmarks)) {
  const bench = benchmarks[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benchmarks).join(', ')}`);
    process.exit(2);
  }
  await bench();
}
