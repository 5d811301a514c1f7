// PostgreSQL's "permission denied for table notifications" made clear when it comes from an access tier
// (issue #13): which column the run's tier may not read, which tier (and so which group) could, and, when
// the query did not name the column (SELECT *, a whole-row reference), that listing columns helps. The
// database decided; this only explains. Results are never masked after the fact.
import type { DataSource, SourceTier } from '../data-sources/registry.js';
import type { DataSourceService } from '../data-sources/service.js';
import { groupsPhrase } from '../data-sources/tiers.js';
import { AppError } from '../lib/errors.js';

const DENIED = /^permission denied for (?:table|view|materialized view|relation) (.+)$/i;

/** Does the SQL name this column as an identifier (bare, case-insensitive, or double-quoted exactly)? */
function mentions(sql: string, column: string): boolean {
  const quoted = `"${column.replace(/"/g, '""')}"`;
  if (sql.includes(quoted)) return true;
  if (!/^[a-z_][a-z0-9_$]*$/.test(column)) return false;
  return new RegExp(`(^|[^a-z0-9_$"])${column.replace(/\$/g, '\\$')}($|[^a-z0-9_$"])`, 'i').test(sql);
}

export async function explainTierDenial(
  answer: AppError,
  pgMessage: string | undefined,
  sql: string,
  source: DataSource,
  tier: SourceTier,
  sources: DataSourceService,
): Promise<AppError> {
  const match = answer.code === 'permission_denied' && pgMessage ? DENIED.exec(pgMessage) : null;
  if (!match) return answer;
  const relationName = match[1]!.replace(/^"(.*)"$/, '$1');
  const columns = await sources.relationColumns(source, relationName);
  const restricted = columns.filter((c) => !c.readableBy.includes(tier.name));
  // Only what a higher tier can read is a tier's restriction; anything else stays PostgreSQL's message.
  const byTier = restricted.map((c) => ({ ...c, tier: source.tiers.find((t) => t !== tier && c.readableBy.includes(t.name)) }));
  const explained = byTier.filter((c) => c.tier);
  if (explained.length === 0) return answer;

  const relation = explained[0]!.relation;
  const whole = restricted.length === columns.length;
  const named = explained.filter((c) => mentions(sql, c.column));
  const shown = named.length ? named : explained;
  const needed = shown[0]!.tier!;
  const list = shown.map((c) => `"${c.column}"`).join(', ');
  const could = `the tier "${needed.name}" can (it needs ${groupsPhrase(needed.groups)})`;
  let message: string;
  if (whole) {
    message = `${relation} is restricted: your tier "${tier.name}" cannot read it; ${could}.`;
  } else if (named.length) {
    message =
      `${shown.length > 1 ? 'Columns' : 'Column'} ${list} of ${relation} ${shown.length > 1 ? 'are' : 'is'} restricted: ` +
      `your tier "${tier.name}" cannot read ${shown.length > 1 ? 'them' : 'it'}; ${could}.`;
  } else {
    message =
      `${relation} has restricted ${shown.length > 1 ? 'columns' : 'column'} ${list} that your tier "${tier.name}" cannot read; ${could}. ` +
      'SELECT * and whole-row references (t, row_to_json(t), t::text) include every column: list the columns you need instead.';
  }
  return new AppError(403, 'column_restricted', message, {
    ...(answer.details ?? {}),
    relation,
    columns: shown.map((c) => c.column),
    tier: tier.name,
    readableByTier: needed.name,
    groups: needed.groups,
    ...(named.length || whole ? {} : { hint: 'List the columns you need instead of SELECT * or a whole-row reference.' }),
  });
}
