// Builds the web app into dist/web. With --if-stale it skips the build when nothing it depends on has
// changed since the last one, so a second `npm start` starts in seconds.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'web');
const stampFile = path.join(outDir, '.source-hash');

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else yield full;
  }
}

/** Server files the web app imports (the relative-time grammar, the API's schemas): they are its sources too. */
function serverImports(webFiles) {
  const found = new Set();
  for (const file of webFiles) {
    if (!/\.(ts|svelte)$/.test(file)) continue;
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/from '((?:\.\.\/)+server\/[^']+)'/g)) {
      const target = path.resolve(path.dirname(file), specifier);
      found.add(existsSync(`${target}.ts`) ? `${target}.ts` : target);
    }
  }
  return [...found];
}

function sourceHash() {
  const hash = createHash('sha256');
  const web = [...files(path.join(root, 'web'))];
  const inputs = [...web, ...serverImports(web), path.join(root, 'package-lock.json')].sort();
  for (const file of inputs) {
    hash.update(path.relative(root, file));
    hash.update(String(statSync(file).size));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex');
}

const hash = sourceHash();
if (process.argv.includes('--if-stale') && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash) {
  console.log('porthole: web app is up to date');
} else {
  console.log('porthole: building the web app…');
  // Build beside the live folder and swap it in, so a server or test reading dist/web never sees it half
  // written (or emptied).
  const staging = `${outDir}.building-${process.pid}`;
  // Always the production build: Vite follows NODE_ENV when it is set, and the test runner sets it to
  // `test`, which built Svelte's development output (106 KB on the first screen instead of 87 KB) that
  // the browser tests, and then `npm start` and the bundle budget (the build being "up to date"), used.
  process.env.NODE_ENV = 'production';
  await build({
    configFile: path.join(root, 'web', 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: staging, emptyOutDir: true },
  });
  writeFileSync(path.join(staging, '.source-hash'), hash);
  const retired = `${outDir}.old-${process.pid}`;
  if (existsSync(outDir)) renameSync(outDir, retired);
  renameSync(staging, outDir);
  rmSync(retired, { recursive: true, force: true });
}
