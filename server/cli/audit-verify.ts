// npm run audit:verify [-- --incremental] [--anchor FILE|s3://bucket/prefix ...] [--file EXPORT.jsonl]
// Recomputes the audit chain (all of it unless --incremental), compares it with earlier anchors, or
// checks a retention export file on its own. Exits 1 and names the first bad event when anything fails.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { compareWithAnchors, parseAnchors } from '../audit/anchor.js';
import { parseS3Location, S3AnchorStore } from '../audit/anchor-store.js';
import { verifyExportFile } from '../audit/retention.js';
import { AuditLog } from '../audit/service.js';
import { connectToolsDb } from '../db/tools-db.js';
import { runCli, withToolsDatabase } from './tools-database.js';

const { values } = parseArgs({
  options: {
    incremental: { type: 'boolean', default: false },
    anchor: { type: 'string', multiple: true },
    file: { type: 'string' },
  },
});

async function verifyFile(file: string): Promise<number> {
  const result = await verifyExportFile(file);
  process.stdout.write(result.ok ? `ok: ${result.events} events in ${file}\n` : `FAILED: ${file}: ${result.problem}\n`);
  return result.ok ? 0 : 1;
}

await runCli(async () => {
  if (values.file) return verifyFile(values.file);
  return withToolsDatabase(async ({ toolsDatabaseUrl }) => {
    const tools = connectToolsDb(toolsDatabaseUrl, { max: 1, applicationName: 'porthole-audit-verify' });
    try {
      const result = await new AuditLog(tools.db).verify({ full: !values.incremental });
      if (!result.ok) {
        process.stdout.write(
          `FAILED at seq ${result.firstBadSeq}: ${result.problem} (${result.events} events verified before it)\n`,
        );
        return 1;
      }
      for (const anchorFile of values.anchor ?? []) {
        const anchors = anchorFile.startsWith('s3://')
          ? await new S3AnchorStore(parseS3Location(anchorFile), tools.db).readAll()
          : parseAnchors(await readFile(anchorFile, 'utf8'));
        const check = await compareWithAnchors(tools.db, anchors);
        if (!check.ok) {
          process.stdout.write(`FAILED against anchors in ${anchorFile}: ${check.problem}\n`);
          return 1;
        }
        process.stdout.write(`anchors: ${check.checked} matched, ${check.skipped} older than retention (${anchorFile})\n`);
      }
      process.stdout.write(`ok: ${result.events} events, head ${result.headSeq}\n`);
      return 0;
    } finally {
      await tools.close();
    }
  });
});
