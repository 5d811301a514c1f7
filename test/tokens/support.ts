// Helpers for the API token tests: creating tokens through the real routes and calling with them.
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestApp } from '../support/app.js';
import { jsonHeaders, type SignedIn } from '../support/auth.js';

export interface CreatedToken {
  token: string;
  info: { id: string; name: string; scopes: string[]; status: string; kind: string; hint: string };
}

export async function createToken(
  t: TestApp,
  who: SignedIn,
  scopes: string[],
  extra: { name?: string; expiresInDays?: number; expiresAt?: string } = {},
): Promise<CreatedToken> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/tokens',
    headers: jsonHeaders(who, t),
    payload: JSON.stringify({ name: extra.name ?? `token ${scopes.join(' ')}`, scopes, expiresInDays: 30, ...extra }),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as CreatedToken;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';

/** A request with a Bearer token and nothing else: no cookie, no Origin (as curl sends it). */
export function withToken(
  t: TestApp,
  token: string,
  method: Method,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const hasBody = method !== 'GET' && method !== 'HEAD';
  return t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(hasBody ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(hasBody ? { payload: JSON.stringify(body ?? {}) } : {}),
  });
}
