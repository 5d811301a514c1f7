// Runs a psql script (such as reader-role.sql) through node-postgres, so the demo and the tests apply the
// very file operators run with psql. Supports what those scripts use: :'name' literals, :"name"
// identifiers, defaults written as `\if :{?name}` `\else` `\set name 'value'` `\endif`, and other
// backslash meta-command lines (ignored).
import type pg from 'pg';

const DEFAULT_VALUE = /^\\if :\{\?([a-z_][a-z0-9_]*)\}\n\\else\n\\set \1 '([^'\n]*)'\n\\endif$/gim;

export function renderPsqlScript(text: string, given: Record<string, string>): string {
  const variables = { ...given };
  for (const [, name, value] of text.matchAll(DEFAULT_VALUE)) variables[name!] ??= value!;
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
