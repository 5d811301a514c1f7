// npm run migrate: apply pending tools-DB migrations (the server also does this at start).
import { migrateToolsDb } from '../db/migrate.js';
import { runCli, withToolsDatabase } from './tools-database.js';

await runCli(() =>
  withToolsDatabase(async (target) => {
    const report = await migrateToolsDb(target);
    process.stdout.write(report.applied.length ? `applied: ${report.applied.join(', ')}\n` : 'up to date\n');
    if (report.servingRole) process.stdout.write(`granted the serving role ${report.servingRole}\n`);
    return 0;
  }),
);
