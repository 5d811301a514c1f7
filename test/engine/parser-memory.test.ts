// The server's V8 flags (server/lib/node-flags.ts): once libpg-query's WebAssembly parser gets hot, V8's
// optimizing compiler took ~610 MB for one function, a spike in every server process (it was most of the
// engine benchmark's 570 MB "RSS growth" during a large JSON result). A process started with the flags
// parses past that point with its memory flat; and every way of starting the server passes them.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { missingNodeFlags, SERVER_NODE_FLAGS } from '../../server/lib/node-flags.js';

const run = promisify(execFile);
const MB = 1024;

// Parses well past the ~5,000 that tier the parser up, then gives a background compile time to happen.
const PARSE_MANY = `
import { loadModule, parseSync } from 'libpg-query';
await loadModule();
const sql = "select id, label, created_at from bench_wide where id > $1 and label like 'a%' order by created_at desc limit 100";
parseSync(sql);
const before = process.resourceUsage().maxRSS;
for (let i = 0; i < 20000; i++) parseSync(sql);
await new Promise((resolve) => setTimeout(resolve, 2000));
process.stdout.write(JSON.stringify({ before, after: process.resourceUsage().maxRSS }));
`;

describe("the server's V8 flags", () => {
  it('keep memory flat while the SQL parser gets hot', { timeout: 60_000 }, async () => {
    const { stdout } = await run(process.execPath, [...SERVER_NODE_FLAGS, '--input-type=module', '-e', PARSE_MANY]);
    const { before, after } = JSON.parse(stdout) as { before: number; after: number };
    // A generous ceiling (maxRSS is in KB): ~15 MB measured with the flags, ~600 MB without them.
    expect(after - before).toBeLessThan(150 * MB);
  });

  it('are passed by npm start and by the image', () => {
    const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
    expect(missingNodeFlags(start.split(/\s+/))).toEqual([]);
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync('Dockerfile', 'utf8'))?.[1];
    expect(missingNodeFlags(JSON.parse(cmd ?? '[]') as string[])).toEqual([]);
  });
});
