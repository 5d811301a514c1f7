// Formatting with sql-formatter (loaded on first use): PostgreSQL rules, and `{variables}` kept whole.
export async function formatSql(sql: string): Promise<string> {
  const { format } = await import('sql-formatter');
  return format(sql, {
    language: 'postgresql',
    keywordCase: 'upper',
    tabWidth: 2,
    paramTypes: { custom: [{ regex: String.raw`\{[A-Za-z_][A-Za-z0-9_]*\}` }] },
  });
}
