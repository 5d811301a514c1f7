// Which access tier a saved query needs (issue #13), for its page: the lowest tier whose role may plan
// it. PostgreSQL checks column privileges when a plan starts, so `EXPLAIN` (never ANALYZE: nothing runs)
// under each tier's role, lowest first, answers exactly, including for SELECT * and views. Variables
// become NULL: permissions do not depend on values. The statement passes the guard first, and the probe
// runs read-only, with a short timeout, on the tier's own pool.
import { dataSourceUnavailable, isUnavailable } from '../db/unavailable.js';
import type { DataSource, SourceTier } from '../data-sources/registry.js';
import { prepareStatement } from './statement.js';
import { variableUses } from './variables.js';

const PROBE_TIMEOUT_MS = 5_000;

export interface TierNeeded {
  /** The lowest tier that can run it, or null when none can (or it could not be told). */
  tier: string | null;
  groups: string[];
}

function withoutVariables(sql: string): string {
  let text = sql;
  for (const use of [...variableUses(sql)].reverse()) text = `${text.slice(0, use.start)}NULL${text.slice(use.end)}`;
  return text;
}

async function canPlan(tier: SourceTier, statement: string): Promise<boolean | undefined> {
  const client = await tier.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(`begin read only; set local statement_timeout = ${PROBE_TIMEOUT_MS}`);
    await client.query({ text: `explain (costs off) ${statement}`, values: [], queryMode: 'extended' } as never);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '42501') return false;
    return undefined; // another error (a type mismatch with NULL, a timeout): no answer
  } finally {
    try {
      await client.query('rollback; discard all');
    } catch (error) {
      broken = error as Error;
    }
    client.release(broken);
  }
}

/** Undefined when the source has one tier or the statement is not a plain query (nothing to tell). */
export async function probeTierNeeded(source: DataSource, sql: string): Promise<TierNeeded | undefined> {
  if (source.tiers.length < 2) return undefined;
  const text = withoutVariables(sql);
  const prepared = await prepareStatement(text, {}, [], { runId: 'tier-probe', userId: 'porthole' }).catch(() => undefined);
  if (!prepared || prepared.checked.kind !== 'select') return undefined;
  const statement = text.slice(prepared.checked.start, prepared.checked.end);
  for (const tier of source.tiers) {
    const answer = await canPlan(tier, statement).catch((error: unknown) => {
      throw isUnavailable(error) ? dataSourceUnavailable(source.id, error) : error;
    });
    if (answer === undefined) return undefined;
    if (answer) return { tier: tier.name, groups: tier.groups };
  }
  return { tier: null, groups: [] };
}
