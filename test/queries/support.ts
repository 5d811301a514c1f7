// Helpers for the saved-query tests: API calls as a signed-in user, through the real app.
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestApp } from '../support/app.js';
import { jsonHeaders, type SignedIn } from '../support/auth.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export function call(t: TestApp, who: SignedIn, method: Method, url: string, body?: unknown): Promise<LightMyRequestResponse> {
  if (method === 'GET') return t.app.inject({ method, url, headers: { cookie: who.cookie } });
  return t.app.inject({ method, url, headers: jsonHeaders(who, t), payload: JSON.stringify(body ?? {}) });
}

export interface QueryBody {
  id: string;
  url: string;
  currentVersion: number;
  visibility: 'team' | 'private';
  locked: boolean;
  archivedAt: string | null;
  owner: { id: string; name: string | null };
  forkedFrom: { queryId: string; version: number; name: string; url: string } | null;
  forks: Array<{ id: string; name: string; fromVersion: number | null }>;
  version: {
    version: number;
    name: string;
    description: string;
    tags: string[];
    dataSource: string;
    sql: string;
    variables: Array<{ name: string; kind: string; multiple?: boolean }>;
    chart: unknown;
    restoredFrom: number | null;
    author: { id: string };
  };
  permissions: Record<string, boolean>;
}

/** Calls and expects `status`; returns the parsed body. */
export async function expectStatus<T = QueryBody>(response: Promise<LightMyRequestResponse>, status: number): Promise<T> {
  const res = await response;
  expect(res.statusCode, res.body).toBe(status);
  return (res.body ? res.json() : undefined) as T;
}

let counter = 0;

export async function createQuery(
  t: TestApp,
  who: SignedIn,
  fields: {
    name?: string;
    sql?: string;
    description?: string;
    tags?: string[];
    visibility?: 'team' | 'private';
    variables?: unknown[];
  } = {},
): Promise<QueryBody> {
  counter++;
  return expectStatus(
    call(t, who, 'POST', '/api/queries', {
      name: fields.name ?? `Query ${counter}`,
      sql: fields.sql ?? `select ${counter} as n`,
      dataSource: 'main',
      ...(fields.description !== undefined ? { description: fields.description } : {}),
      ...(fields.tags ? { tags: fields.tags } : {}),
      ...(fields.visibility ? { visibility: fields.visibility } : {}),
      ...(fields.variables ? { variables: fields.variables } : {}),
    }),
    201,
  );
}

export function save(t: TestApp, who: SignedIn, id: string, baseVersion: number, fields: Record<string, unknown>) {
  return call(t, who, 'PUT', `/api/queries/${id}`, { baseVersion, ...fields });
}
