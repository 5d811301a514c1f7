// Runs a psql script (such as reader-role.sql) through node-postgres, so the demo and the tests apply the
// very file operators run with psql. Supports what those scripts use: :'name' literals, :"name"
// identifiers and backslash meta-command lines (ignored).
import type pg from 'pg';

export function renderPsqlScript(text: string, variables: Record<string, string>): string {
  const withoutMeta = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('\\'))
    .join('\n');
  // Substitute only outside dollar-quoted bodies, as psql does.
  return withoutMeta.replace(
    /(\$([a-z_]*)\$[\s\S]*?\$\2\$)|:(['"])([a-z_][a-z0-9_]*)\3/gi,
    (match, dollarBody: string | undefined, _tag, quote: string, name: string) => {
      if (dollarBody !== undefined) return match;
      const value = variables[name];
      if (value === undefined) throw new Error(`psql variable "${name}" is not set`);
      return quote === "'" ? `'${value.replace(/'/g, "''")}'` : `"${value.replace(/"/g, '""')}"`;
    },
  );
}

export async function runPsqlScript(client: pg.ClientBase, text: string, variables: Record<string, string>): Promise<void> {
  await client.query(renderPsqlScript(text, variables));
}
