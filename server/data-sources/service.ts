// Data sources as users and the engine see them: who may use which source (groups), whether a source
// passed its self-check (THREATS.md 20-21), its limits, and its cached schema.
import { sql, type Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../../schema/database.js';
import { hasRole, type SessionUser } from '../auth/guards.js';
import type { Config } from '../config.js';
import { dataSourceUnavailable, isToolsDatabaseUnavailable, isUnavailable } from '../db/unavailable.js';
import { AppError } from '../lib/errors.js';
import type { DataSource, DataSourceRegistry, SourceTier } from './registry.js';
import { readSourceSchema, type SchemaColumn, type SchemaRelation, type SourceSchema } from './schema-browser.js';
import { explainRdsIamRefusal } from './rds-iam.js';
import { checkDataSourceRole, IDENTITY_SQL, type DatabaseIdentity, type SelfCheckResult } from './self-check.js';
import { checkTierColumns } from './tier-check.js';
import { chooseTier } from './tiers.js';

/** The self-check of every tier of a source, together. */
export interface SourceCheckResult extends SelfCheckResult {
  /** Each tier's role, as PostgreSQL names it (current_user), lowest tier first. */
  tierRoles: Array<{ tier: string; role: string }>;
}

export type SourceStatus = 'ok' | 'refused' | 'unreachable' | 'unchecked';

export interface DataSourceView {
  id: string;
  name: string;
  status: SourceStatus;
  problems: string[];
  warnings: string[];
  timeoutMs: number;
  maxRows: number;
  maxCsvRows: number;
  tier: string;
  tiers: Array<{ name: string; groups: string[] }>;
}

export interface SourceLimits {
  timeoutMs: number;
  maxRows: number;
  maxCsvRows: number;
}

/** The schema as read, with the tiers that can read each column (`schema.relation\0column` -> tier names). */
interface TieredSchema {
  schema: Omit<SourceSchema, 'schemas'> & {
    schemas: Array<{
      name: string;
      relations: Array<Omit<SchemaRelation, 'columns'> & { columns: Array<SchemaColumn & { readableBy: string[] }> }>;
    }>;
  };
  columns: Map<string, string[]>;
}

const SCHEMA_TTL_MS = 10 * 60_000;
/** A refresh asked for sooner than this after the last read is answered from the cache. */
const SCHEMA_REFRESH_MIN_MS = 5_000;

interface CheckState {
  result?: SourceCheckResult;
  unreachable?: string;
  running?: Promise<SourceCheckResult>;
}

export class DataSourceService {
  private readonly checks = new Map<string, CheckState>();
  private readonly schemas = new Map<string, { at: number; schema: Promise<TieredSchema> }>();
  private toolsIdentity?: Promise<DatabaseIdentity>;

  constructor(
    private readonly registry: DataSourceRegistry,
    private readonly toolsDb: Kysely<Database>,
    private readonly engine: Config['engine'],
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Admins see every source; others those without groups or sharing a group with them. */
  canUse(user: SessionUser, source: DataSource): boolean {
    const groups = source.settings?.groups ?? [];
    return groups.length === 0 || hasRole(user, 'admin') || groups.some((g) => user.groups.includes(g));
  }

  /** The source, or a 404 that does not reveal whether a source the user may not use exists. */
  find(user: SessionUser, id: string): DataSource {
    const source = this.registry.get(id);
    if (!source || !this.canUse(user, source)) throw new AppError(404, 'not_found', `There is no data source "${id}".`);
    return source;
  }

  /**
   * The tier a run of this user uses on the source: the highest their groups allow (tiers.ts). Chosen
   * here, per run, from the groups stored at their last login; nothing in the SQL can change it.
   */
  tierFor(user: Pick<SessionUser, 'groups'>, source: DataSource): SourceTier {
    return chooseTier(source, user.groups);
  }

  /**
   * The columns of relations named `name` (in any schema; PostgreSQL's errors name relations without
   * their schema) with the tiers that can read each, from the cached schema: for clear permission errors.
   */
  async relationColumns(
    source: DataSource,
    name: string,
  ): Promise<Array<{ relation: string; column: string; readableBy: string[] }>> {
    const schema = await this.cachedSchema(source, false).catch(() => undefined);
    if (!schema) return [];
    const found = [];
    for (const [key, readableBy] of schema.columns) {
      const [relation, column] = key.split('\u0000') as [string, string];
      if (relation.slice(relation.indexOf('.') + 1) === name) found.push({ relation, column, readableBy });
    }
    return found;
  }

  limits(source: DataSource): SourceLimits {
    return {
      timeoutMs: source.settings?.timeoutMs ?? this.engine.queryTimeoutMs,
      maxRows: source.settings?.maxRows ?? this.engine.maxRows,
      maxCsvRows: this.engine.maxCsvRows,
    };
  }

  list(user: SessionUser): DataSourceView[] {
    return this.registry
      .list()
      .filter((source) => this.canUse(user, source))
      .map((source) => {
        const state = this.checks.get(source.id);
        const status: SourceStatus = state?.result
          ? state.result.problems.length
            ? 'refused'
            : 'ok'
          : state?.unreachable
            ? 'unreachable'
            : 'unchecked';
        return {
          id: source.id,
          name: source.name,
          status,
          problems: state?.result?.problems ?? (state?.unreachable ? [state.unreachable] : []),
          warnings: state?.result?.warnings ?? [],
          ...this.limits(source),
          tier: this.tierFor(user, source).name,
          tiers: source.tiers.map((tier) => ({ name: tier.name, groups: tier.groups })),
        };
      });
  }

  /** Runs (once per source and task) the self-check; a source that could not be reached is retried later. */
  verify(source: DataSource): Promise<SourceCheckResult> {
    let state = this.checks.get(source.id);
    if (!state) this.checks.set(source.id, (state = {}));
    if (state.result) return Promise.resolve(state.result);
    if (state.running) return state.running;
    const current = state;
    current.running = this.runCheck(source).then(
      (result) => {
        current.result = result;
        current.unreachable = undefined;
        current.running = undefined;
        if (result.problems.length) {
          this.log.error({ dataSource: source.id, problems: result.problems }, `data source "${source.id}" refused`);
        }
        for (const warning of result.warnings) this.log.warn({ dataSource: source.id }, `data source "${source.id}": ${warning}`);
        return result;
      },
      (error: unknown) => {
        current.running = undefined;
        current.unreachable = `could not connect: ${error instanceof Error ? error.message : String(error)}`;
        throw error;
      },
    );
    return current.running;
  }

  /** Checks every source in the background (at startup), logging what it finds. */
  verifyAll(): void {
    for (const source of this.registry.list()) {
      this.verify(source).catch((error: unknown) =>
        this.log.warn({ dataSource: source.id, err: error }, `data source "${source.id}" could not be checked yet`),
      );
    }
  }

  /** Throws a 503 naming the problems when the source failed its self-check or cannot be reached. */
  async ensureUsable(source: DataSource): Promise<void> {
    let result: SourceCheckResult;
    try {
      result = await this.verify(source);
    } catch (error) {
      // The check also reads the tools DB (its identity, so the tools DB is never a source): its own
      // unavailability is named as such.
      if (isToolsDatabaseUnavailable(error)) throw error;
      throw dataSourceUnavailable(source.id, error);
    }
    if (result.problems.length) {
      throw new AppError(
        503,
        'data_source_refused',
        `Porthole refuses to run queries on "${source.id}" because its database role is not read-only: ${result.problems.join('; ')}. ` +
          'An operator must fix the role (see schema/reader-role.sql).',
        { problems: result.problems },
      );
    }
  }

  /** The schema as the user's tier sees it: columns their tier cannot read say which groups can. */
  async schema(user: SessionUser, id: string, refresh: boolean): Promise<SourceSchema> {
    const source = this.find(user, id);
    await this.ensureUsable(source);
    const tiered = await this.cachedSchema(source, refresh);
    const mine = this.tierFor(user, source);
    return {
      ...tiered.schema,
      schemas: tiered.schema.schemas.map((namespace) => ({
        ...namespace,
        relations: namespace.relations.map((relation) => ({
          ...relation,
          columns: relation.columns.map(({ readableBy, ...column }) => {
            if (readableBy.includes(mine.name)) return column;
            const needs = source.tiers.find((tier) => readableBy.includes(tier.name));
            return { ...column, restricted: { tier: needs?.name ?? null, groups: needs?.groups ?? [] } };
          }),
        })),
      })),
    };
  }

  /** The catalog read once per source (as its first tier, asking about every tier's role), cached. */
  private async cachedSchema(source: DataSource, refresh: boolean): Promise<TieredSchema> {
    const cached = this.schemas.get(source.id);
    const age = cached ? Date.now() - cached.at : Number.POSITIVE_INFINITY;
    if (cached && age < (refresh ? SCHEMA_REFRESH_MIN_MS : SCHEMA_TTL_MS)) return cached.schema;
    const entry = { at: Date.now(), schema: this.readSchema(source) };
    this.schemas.set(source.id, entry);
    entry.schema.catch(() => this.schemas.get(source.id) === entry && this.schemas.delete(source.id));
    return entry.schema;
  }

  private async readSchema(source: DataSource): Promise<TieredSchema> {
    const check = await this.verify(source);
    const client = await source.pool.connect().catch((error: unknown) => {
      throw dataSourceUnavailable(source.id, error);
    });
    let failed: Error | undefined;
    try {
      const raw = await readSourceSchema(
        client,
        this.limits(source).timeoutMs,
        check.tierRoles.map((t) => t.role),
      );
      const columns = new Map<string, string[]>();
      const schema = {
        ...raw,
        schemas: raw.schemas.map((namespace) => ({
          ...namespace,
          relations: namespace.relations.map((relation) => ({
            ...relation,
            columns: relation.columns.map(({ readable, ...column }) => {
              const readableBy = check.tierRoles.filter((_, i) => readable[i]).map((t) => t.tier);
              columns.set(`${namespace.name}.${relation.name}\u0000${column.name}`, readableBy);
              return { ...column, readableBy };
            }),
          })),
        })),
      };
      return { schema, columns };
    } catch (error) {
      failed = error instanceof Error ? error : new Error(String(error));
      if (isUnavailable(failed)) throw dataSourceUnavailable(source.id, failed);
      throw new AppError(502, 'data_source_error', `Reading the schema of "${source.id}" failed: ${failed.message}`);
    } finally {
      client.release(failed);
    }
  }

  /** Checks every tier's role like the reader's, and what each can read of the sensitive columns. */
  private async runCheck(source: DataSource): Promise<SourceCheckResult> {
    const tools = await this.readToolsIdentity();
    const problems: string[] = [];
    const warnings: string[] = [];
    const tierRoles: SourceCheckResult['tierRoles'] = [];
    const tiered = source.tiers.length > 1;
    for (const tier of source.tiers) {
      const client = await tier.pool.connect().catch((error: unknown) => {
        const explained = tier.rdsIam && explainRdsIamRefusal(error, tier.rdsIam);
        throw explained ? new Error(explained, { cause: error }) : error;
      });
      let failed: Error | undefined;
      try {
        const result = await checkDataSourceRole(client, tools);
        const columns = await checkTierColumns(client, tier, result.role, source.sensitiveColumns);
        const prefix = tiered ? `tier "${tier.name}": ` : '';
        problems.push(...result.problems.map((p) => prefix + p));
        warnings.push(...result.warnings.map((w) => prefix + w), ...columns.warnings);
        const twin = tierRoles.find((t) => t.role === result.role);
        if (twin) warnings.push(`tiers "${twin.tier}" and "${tier.name}" connect as the same role "${result.role}"`);
        tierRoles.push({ tier: tier.name, role: result.role });
      } catch (error) {
        failed = error instanceof Error ? error : new Error(String(error));
        throw failed;
      } finally {
        client.release(failed);
      }
    }
    return { role: tierRoles[0]!.role, problems, warnings, tierRoles };
  }

  private readToolsIdentity(): Promise<DatabaseIdentity> {
    this.toolsIdentity ??= (async () => {
      try {
        const { rows } = await sql<{
          database_oid: string;
          database: string;
          system_identifier: string;
        }>`${sql.raw(IDENTITY_SQL)}`.execute(this.toolsDb);
        return { databaseOid: rows[0]!.database_oid, database: rows[0]!.database, systemIdentifier: rows[0]!.system_identifier };
      } catch {
        const { rows } = await sql<{ database_oid: string; database: string }>`
          select (select oid::text from pg_database where datname = current_database()) as database_oid,
                 current_database() as database`.execute(this.toolsDb);
        return { databaseOid: rows[0]!.database_oid, database: rows[0]!.database, systemIdentifier: null };
      }
    })();
    this.toolsIdentity.catch(() => (this.toolsIdentity = undefined));
    return this.toolsIdentity;
  }
}
