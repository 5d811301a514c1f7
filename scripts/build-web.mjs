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

function sourceHash() {
  const hash = createHash('sha256');
  const inputs = [...files(path.join(root, 'web')), path.join(root, 'package-lock.json')].sort();
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
