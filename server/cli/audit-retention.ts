// npm run audit:retention [-- --days N] [--out DIR]: exports audit events older than N days (default
// AUDIT_RETENTION_DAYS) to a JSON Lines file with chain checkpoints, then removes them. Needs the owner
// credentials (TOOLS_MIGRATION_URL): the serving role cannot delete audit events, by design.
import { parseArgs } from 'node:util';
import { applyRetention } from '../audit/retention.js';
import { loadConfig } from '../config.js';
import { connectToolsDb } from '../db/tools-db.js';
import { runCli, withToolsDatabase } from './tools-database.js';

const { values } = parseArgs({ options: { days: { type: 'string' }, out: { type: 'string', default: '.' } } });

await runCli(async () => {
  const days = values.days !== undefined ? Number(values.days) : loadConfig().auditRetentionDays;
  if (days === undefined || !Number.isInteger(days) || days < 1) {
    process.stderr.write('Give the retention period: --days N or AUDIT_RETENTION_DAYS (whole days, at least 1).\n');
    return 2;
  }
  return withToolsDatabase(async ({ toolsMigrationUrl }) => {
    if (!toolsMigrationUrl) {
      process.stderr.write(
        'Retention runs with the owner credentials: set TOOLS_MIGRATION_URL. The serving role may not delete audit events.\n',
      );
      return 2;
    }
    const owner = connectToolsDb(toolsMigrationUrl, { max: 1, applicationName: 'porthole-audit-retention' });
    try {
      const cutoff = new Date(Date.now() - days * 86_400_000);
      const result = await applyRetention(owner.db, { cutoff, outDir: values.out! });
      process.stdout.write(
        result.removed === 0
          ? `nothing older than ${cutoff.toISOString()}\n`
          : `exported and removed ${result.removed} events (${result.fromSeq}..${result.throughSeq}) to ${result.file}\n`,
      );
      return 0;
    } finally {
      await owner.close();
    }
  });
});
