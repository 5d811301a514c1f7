// Fails when the JavaScript the first screen loads grows past the budget (issue #6): the entry chunk and
// every chunk it imports statically, gzipped. The editor (CodeMirror, sql-formatter) and the charts
// (Vega, Vega-Lite) are dynamic import()s and must stay out of it. Run after the web build.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// BUNDLE_BUDGET_KB lowers the budget to check that the script fails (it is 150 KB otherwise).
const BUDGET_BYTES = Number(process.env.BUNDLE_BUDGET_KB ?? 150) * 1024;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist', 'web');
const indexFile = path.join(dist, 'index.html');

if (!existsSync(indexFile)) {
  console.error('bundle-budget: dist/web/index.html is missing; build the web app first (node scripts/build-web.mjs)');
  process.exit(1);
}

const gzipped = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

// Static imports only: `import{a}from"./x.js"` and `import"./x.js"`, never `import("./x.js")`.
const STATIC_IMPORT = /\bimport\s*(?:[^"'()]*?\bfrom\s*)?["'](\.{1,2}\/[^"']+\.js)["']/g;

const html = readFileSync(indexFile, 'utf8');
const entries = [
  ...html.matchAll(/<script[^>]+type="module"[^>]+src="([^"]+)"/g),
  ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g),
].map((match) => path.join(dist, match[1]));

const firstScreen = new Set();
const pending = [...entries];
while (pending.length) {
  const file = pending.pop();
  if (firstScreen.has(file)) continue;
  firstScreen.add(file);
  for (const match of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT))
    pending.push(path.resolve(path.dirname(file), match[1]));
}

let total = 0;
console.log('First screen JavaScript (gzip):');
for (const file of [...firstScreen].sort()) {
  const size = gzipped(file);
  total += size;
  console.log(`  ${path.relative(dist, file).padEnd(44)} ${kb(size).padStart(10)}`);
}
const lazy = readdirSync(path.join(dist, 'assets'))
  .filter((name) => name.endsWith('.js'))
  .map((name) => path.join(dist, 'assets', name))
  .filter((file) => !firstScreen.has(file));
console.log('Loaded on demand (gzip):');
for (const file of lazy.sort()) console.log(`  ${path.relative(dist, file).padEnd(44)} ${kb(gzipped(file)).padStart(10)}`);

const verdict = `${kb(total)} of ${kb(BUDGET_BYTES)}`;
if (total > BUDGET_BYTES) {
  console.error(`bundle-budget: FAILED, the first screen loads ${verdict} of JavaScript`);
  process.exit(1);
}
console.log(`bundle-budget: ok, the first screen loads ${verdict} of JavaScript`);
