// Helpers for the engine's integration tests: API calls as a signed-in user, and direct looks at the
// main database (as a superuser, to see what really happened there).
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestApp } from '../support/app.js';
import { jsonHeaders, type SignedIn } from '../support/auth.js';
import { adminQuery } from '../support/databases.js';

export interface RunBody {
  dataSource?: string;
  sql?: string;
  params?: Record<string, unknown>;
  runId?: string;
  queryId?: string;
}

export function post(t: TestApp, who: SignedIn, url: string, body: unknown): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'POST', url, headers: jsonHeaders(who, t), payload: JSON.stringify(body) });
}

export function run(t: TestApp, who: SignedIn, sql: string, params?: Record<string, unknown>, extra: RunBody = {}) {
  return post(t, who, '/api/runs', { dataSource: 'main', sql, ...(params ? { params } : {}), ...extra });
}

/** Runs and expects success; returns the parsed body. */
export async function rows(t: TestApp, who: SignedIn, sql: string, params?: Record<string, unknown>, extra: RunBody = {}) {
  const res = await run(t, who, sql, params, extra);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as {
    id: string;
    statement: string;
    columns: Array<{ name: string; type: string; dbType?: string }>;
    rows: unknown[][];
    rowCount: number;
    truncated: boolean;
    truncatedBy?: string;
    durationMs: number;
    tier: string;
  };
}

/** Runs and expects an error; returns its body's error object. */
export async function failure(t: TestApp, who: SignedIn, sql: string, params?: Record<string, unknown>, extra: RunBody = {}) {
  const res = await run(t, who, sql, params, extra);
  expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
  const { error } = res.json() as { error: { code: string; message: string } };
  return { status: res.statusCode, ...error } as { status: number; code: string; message: string; [detail: string]: unknown };
}

export function mainQuery(t: TestApp, sql: string, values?: unknown[]) {
  return adminQuery(sql, values, t.main.database);
}

export function toolsQuery(t: TestApp, sql: string, values?: unknown[]) {
  return adminQuery(sql, values, t.tools.database);
}

/** The audit events of one run, oldest first. */
export async function auditOf(t: TestApp, runId: string) {
  const { rows: events } = await toolsQuery(
    t,
    `select action, outcome, error_code, row_count, sql, params, details from audit_events
     where details->>'runId' = $1 order by seq`,
    [runId],
  );
  return events as Array<{
    action: string;
    outcome: string | null;
    error_code: string | null;
    row_count: string | null;
    sql: string | null;
    params: unknown;
    details: Record<string, unknown>;
  }>;
}

/** Backends on the main database whose SQL carries the run's tag. */
export async function backendsOf(t: TestApp, runId: string): Promise<Array<{ pid: number; state: string; query: string }>> {
  const { rows: found } = await adminQuery(
    `select pid, state, query from pg_stat_activity where query like $1 and pid <> pg_backend_pid()`,
    [`%porthole run:${runId}%`],
  );
  return found as Array<{ pid: number; state: string; query: string }>;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const newRunId = () => randomUUID();
