// One-off setup of the tools database, run as an ECS task from the Porthole image (docs/deploy.md):
// connected as the RDS master user, it creates or updates the owner role (owns the schema, runs
// migrations) and the serving role (only what the server needs; the migrations grant the rest) with
// the passwords held in their Secrets Manager secrets, and hands the database to the owner. Safe to
// re-run; re-running after changing a secret's password is how those two roles are rotated.
//
// Environment: TOOLS_ADMIN_SECRET, TOOLS_MIGRATION_SECRET (owner), TOOLS_DATABASE_SECRET (serving role),
// all Secrets Manager database documents; TOOLS_DATABASE_SSLMODE as for start.mjs.
import pg from 'pg';
import { databaseUrlFromSecret, parseDatabaseSecret } from './database-secret.mjs';

const say = (message) => process.stdout.write(`porthole setup: ${message}\n`);

function secretFrom(name, defaults) {
  const document = process.env[name];
  if (!document) throw new Error(`${name} is not set`);
  try {
    return parseDatabaseSecret(document, defaults);
  } catch (error) {
    throw new Error(`${name} ${error.message}`, { cause: error });
  }
}

async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url, application_name: 'porthole-setup' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function main() {
  const sslMode = process.env.TOOLS_DATABASE_SSLMODE;
  const owner = secretFrom('TOOLS_MIGRATION_SECRET');
  const app = secretFrom('TOOLS_DATABASE_SECRET');
  if (owner.username === app.username) throw new Error('the owner and serving roles must differ');
  if (owner.dbname !== app.dbname) throw new Error('the owner and serving secrets name different databases');
  const database = owner.dbname;
  // The master user connects to our database whatever its own document names.
  const admin = { ...secretFrom('TOOLS_ADMIN_SECRET', { dbname: database }), dbname: database };
  const id = pg.escapeIdentifier;
  const literal = pg.escapeLiteral;

  await withClient(databaseUrlFromSecret(JSON.stringify(admin), sslMode), async (client) => {
    for (const [role, serving] of [
      [owner, false],
      [app, true],
    ]) {
      const exists = (await client.query('select 1 from pg_roles where rolname = $1', [role.username])).rowCount > 0;
      const password = `password ${literal(role.password)}`;
      // ALTER may not mention superuser attributes unless run by a superuser, which the master user is not.
      await client.query(
        exists
          ? `alter role ${id(role.username)} login ${password}`
          : `create role ${id(role.username)} login ${password} nosuperuser nocreatedb nocreaterole${serving ? ' noinherit' : ''}`,
      );
      say(`${exists ? 'updated' : 'created'} role ${role.username}`);
    }
    // Handing the database to the owner needs membership (PostgreSQL 16+ does not grant it to the
    // creating role by default).
    await client.query(`grant ${id(owner.username)} to current_user`);
    await client.query(`alter database ${id(database)} owner to ${id(owner.username)}`);
    await client.query(`revoke all on database ${id(database)} from public`);
    await client.query(`grant connect on database ${id(database)} to ${id(app.username)}`);
    await client.query(`alter schema public owner to ${id(owner.username)}`);
    await client.query('revoke create on schema public from public');
  });
  say(`database ${database} belongs to ${owner.username}; ${app.username} may connect (the server's migrations grant the rest)`);
}

main().catch((error) => {
  process.stderr.write(`porthole setup failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
