// Access tiers (issue #13): a data source may have several reader roles, each a login role with its own
// pool, e.g. `standard` (everyone allowed on the source) and `pii` (members of `support`). PostgreSQL's
// column grants decide what each role can read; Porthole only chooses which role a run connects as, from
// the user's identity-provider groups, never from anything in the SQL. chooseTier is a pure function of
// the source's tiers and the groups, so any caller (a session, an API token's principal) can use it.

/** What DATA_SOURCES_FILE says about one tier. */
export interface TierDefinition {
  name: string;
  /** The tier's connection URL; the first tier may leave it out and use the source's own URL. */
  url?: string;
  /** Members of one of these groups may use the tier; empty = everyone allowed on the source. */
  groups: string[];
  /** The tier's role is expected to read the source's sensitive columns (the self-check verifies it). */
  readsSensitive: boolean;
}

/** A tier as the engine uses it: the definition plus something to connect with (a pool in production). */
export interface Tier<Connection = unknown> {
  name: string;
  groups: string[];
  readsSensitive: boolean;
  pool: Connection;
}

/** A column as `schema.table.column` (the schema defaults to public). */
export interface ColumnRef {
  schema: string;
  table: string;
  column: string;
}

export const DEFAULT_TIER = 'standard';
export const TIER_NAME = /^[a-z][a-z0-9_-]{0,30}$/;

/** A tier the groups allow: it names no groups, or shares one with them. */
export function tierAllows(tier: Pick<Tier, 'groups'>, groups: readonly string[]): boolean {
  return tier.groups.length === 0 || tier.groups.some((g) => groups.includes(g));
}

/**
 * The highest tier (tiers are listed lowest first) the groups allow. The first tier names no groups
 * (config-file.ts insists), so everyone allowed on the source gets at least that one.
 */
export function chooseTier<T extends Pick<Tier, 'groups'>>(source: { tiers: readonly T[] }, groups: readonly string[]): T {
  for (let i = source.tiers.length - 1; i > 0; i--) {
    if (tierAllows(source.tiers[i]!, groups)) return source.tiers[i]!;
  }
  return source.tiers[0]!;
}

/** The lowest tier whose role `canRead` (by tier name), for "needs group support" messages. */
export function lowestTierReading<T extends Pick<Tier, 'name'>>(
  tiers: readonly T[],
  canRead: (tier: T) => boolean,
): T | undefined {
  return tiers.find(canRead);
}

/** Parses `schema.table.column` or `table.column` (double quotes for names with dots or capitals). */
export function parseColumnRef(text: string): ColumnRef | undefined {
  const parts: string[] = [];
  const pattern = /\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))\s*(\.|$)/y;
  let at = 0;
  while (at < text.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (!match) return undefined;
    parts.push(match[1] !== undefined ? match[1].replace(/""/g, '"') : match[2]!.toLowerCase());
    at = pattern.lastIndex;
    if (match[3] === '' && at < text.length) return undefined;
    if (match[3] === '.' && at >= text.length) return undefined;
  }
  if (parts.length === 2) return { schema: 'public', table: parts[0]!, column: parts[1]! };
  if (parts.length === 3) return { schema: parts[0]!, table: parts[1]!, column: parts[2]! };
  return undefined;
}

export const columnLabel = (c: ColumnRef): string => `${c.schema}.${c.table}.${c.column}`;

/** "group support" / "groups support or legal", for messages. */
export function groupsPhrase(groups: readonly string[]): string {
  if (groups.length === 0) return 'no group';
  return `${groups.length > 1 ? 'groups' : 'group'} ${groups.join(' or ')}`;
}

type Problems = string[];

/**
 * An entry's connection URL from "url" or "urlEnv" (the name of the variable holding it), checked to be
 * postgres://…; undefined when neither gives one. Sources and tiers read theirs the same way.
 */
export function readUrlKeys(
  e: Record<string, unknown>,
  where: string,
  env: Record<string, string | undefined>,
  problems: Problems,
): string | undefined {
  let url: string | undefined;
  if (e.url !== undefined && e.urlEnv !== undefined) problems.push(`${where}: give "url" or "urlEnv", not both`);
  if (typeof e.url === 'string') url = e.url;
  else if (e.url !== undefined) problems.push(`${where}: "url" must be a string`);
  if (typeof e.urlEnv === 'string') {
    url = env[e.urlEnv]?.trim() || undefined;
    if (!url) problems.push(`${where}: the environment variable ${e.urlEnv} (its "urlEnv") is not set`);
  } else if (e.urlEnv !== undefined) problems.push(`${where}: "urlEnv" must be the name of an environment variable`);
  if (url === undefined) return undefined;
  try {
    if (!['postgres:', 'postgresql:'].includes(new URL(url).protocol)) problems.push(`${where}: the URL must be postgres://…`);
  } catch {
    problems.push(`${where}: the URL is not valid`);
  }
  return url;
}

/** Reads a source's `tiers` and `sensitiveColumns` from DATA_SOURCES_FILE, adding to `problems`. */
export function readTiers(
  label: string,
  value: unknown,
  env: Record<string, string | undefined>,
  problems: Problems,
): TierDefinition[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`${label}: "tiers" must be a non-empty list`);
    return undefined;
  }
  const tiers: TierDefinition[] = [];
  const seen = new Set<string>();
  value.forEach((entry: unknown, index) => {
    const where = `${label} tier #${index + 1}`;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) {
      problems.push(`${where} must be an object`);
      return;
    }
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e))
      if (!['name', 'url', 'urlEnv', 'groups', 'readsSensitive'].includes(key))
        problems.push(`${where} has an unknown key "${key}"`);
    const name = typeof e.name === 'string' ? e.name : '';
    if (!TIER_NAME.test(name))
      problems.push(`${where} needs a "name" of lower-case letters, digits, _ or - (got ${JSON.stringify(e.name)})`);
    else if (seen.has(name)) problems.push(`${label}: tier "${name}" is listed twice`);
    seen.add(name);
    const url = readUrlKeys(e, where, env, problems);
    if (url === undefined && index > 0 && e.urlEnv === undefined)
      problems.push(`${where} needs "url" or "urlEnv" (only the first tier may use the source's URL)`);
    const groups = e.groups;
    if (groups !== undefined && (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string' && g.trim() !== ''))) {
      problems.push(`${where}: "groups" must be a list of group names`);
    }
    const groupList = Array.isArray(groups) ? (groups as string[]).map((g) => g.trim()) : [];
    if (index === 0 && groupList.length > 0) {
      problems.push(`${where}: the first tier is everyone's (everyone allowed on the source uses it), so it names no groups`);
    }
    if (index > 0 && groupList.length === 0)
      problems.push(`${where}: a tier above the first must name the groups that may use it`);
    if (e.readsSensitive !== undefined && typeof e.readsSensitive !== 'boolean')
      problems.push(`${where}: "readsSensitive" must be true or false`);
    tiers.push({ name, url, groups: groupList, readsSensitive: e.readsSensitive === true });
  });
  return tiers;
}

export function readSensitiveColumns(label: string, value: unknown, problems: Problems): ColumnRef[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    problems.push(`${label}: "sensitiveColumns" must be a list like ["public.users.email"]`);
    return undefined;
  }
  const columns: ColumnRef[] = [];
  for (const item of value) {
    const parsed = typeof item === 'string' ? parseColumnRef(item) : undefined;
    if (!parsed) problems.push(`${label}: sensitive column ${JSON.stringify(item)} is not schema.table.column or table.column`);
    else columns.push(parsed);
  }
  return columns;
}
