// npm run audit:anchor: prints the chain head as one JSON line, to be appended to write-once storage
// (e.g. `npm run --silent audit:anchor >> anchors.jsonl`, then copied to the S3 Object Lock bucket).
import { currentAnchor } from '../audit/anchor.js';
import { connectToolsDb } from '../db/tools-db.js';
import { runCli, withToolsDatabase } from './tools-database.js';

await runCli(() =>
  withToolsDatabase(async ({ toolsDatabaseUrl }) => {
    const tools = connectToolsDb(toolsDatabaseUrl, { max: 1, applicationName: 'porthole-audit-anchor' });
    try {
      process.stdout.write(`${JSON.stringify(await currentAnchor(tools.db))}\n`);
      return 0;
    } finally {
      await tools.close();
    }
  }),
);
