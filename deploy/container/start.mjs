// The image's entry point. On ECS the tools-database credentials arrive as Secrets Manager documents
// (JSON: username, password, host, port, dbname), which rotate without anyone writing a URL by hand;
// Porthole reads URLs. This turns TOOLS_DATABASE_SECRET and TOOLS_MIGRATION_SECRET into
// TOOLS_DATABASE_URL and TOOLS_MIGRATION_URL, drops the documents from the environment, and starts the
// server - or, given a script (`node /app/start.mjs dist/server/cli/audit-verify.js`), that script, so
// one-off tasks see the same settings. Without the documents it changes nothing: plain URLs keep working.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { databaseUrlFromSecret } from './database-secret.mjs';

const TARGETS = { TOOLS_DATABASE_SECRET: 'TOOLS_DATABASE_URL', TOOLS_MIGRATION_SECRET: 'TOOLS_MIGRATION_URL' };

const problems = [];
for (const [source, target] of Object.entries(TARGETS)) {
  const document = process.env[source];
  if (document === undefined) continue;
  delete process.env[source];
  if (process.env[target]) {
    problems.push(`${source} and ${target} are both set; give one`);
    continue;
  }
  try {
    process.env[target] = databaseUrlFromSecret(document, process.env.TOOLS_DATABASE_SSLMODE);
  } catch (error) {
    problems.push(`${source}: ${error.message}`);
  }
}
// SES SMTP credentials arrive as a document too ({"username", "password"}, from an IAM user's SMTP
// credentials); with SMTP_HOST (a host, or host:port) they become SMTP_URL, on port 587 (STARTTLS)
// unless SMTP_HOST names another. An empty username (the placeholder the stack creates) leaves email
// off until an operator puts the credentials in. An SMTP_URL given outright wins.
const smtpDocument = process.env.SMTP_SECRET;
delete process.env.SMTP_SECRET;
if (smtpDocument !== undefined && !process.env.SMTP_URL) {
  try {
    const { username, password } = JSON.parse(smtpDocument);
    const host = process.env.SMTP_HOST;
    if (username && password && host) {
      const authority = /:\d+$/.test(host) ? host : `${host}:587`;
      process.env.SMTP_URL = `smtp://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${authority}`;
    }
  } catch {
    problems.push('SMTP_SECRET is not a JSON document with username and password');
  }
}
delete process.env.SMTP_HOST;

if (problems.length) {
  process.stderr.write(`Porthole cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}

// The script sees the arguments after its own name, as if it had been started directly.
const [script] = process.argv.splice(2, 1);
const entry = path.resolve(import.meta.dirname, script ?? 'dist/server/main.js');
await import(pathToFileURL(entry).href);
