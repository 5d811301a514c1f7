// npm run audit:verify: recompute the audit chain; exit 1 and name the first bad event if it is broken.
import { AuditLog } from '../audit/service.js';
import { connectToolsDb } from '../db/tools-db.js';
import { runCli, withToolsDatabase } from './tools-database.js';

await runCli(() =>
  withToolsDatabase(async ({ toolsDatabaseUrl }) => {
    const tools = connectToolsDb(toolsDatabaseUrl, { max: 1, applicationName: 'porthole-audit-verify' });
    try {
      const result = await new AuditLog(tools.db).verify();
      if (result.ok) {
        process.stdout.write(`ok: ${result.events} events, head ${result.headSeq}\n`);
        return 0;
      }
      process.stdout.write(
        `FAILED at seq ${result.firstBadSeq}: ${result.problem} (${result.events} events verified before it)\n`,
      );
      return 1;
    } finally {
      await tools.close();
    }
  }),
);
