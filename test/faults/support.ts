// Helpers for the fault tests: HTTP requests that report how a response ended (a cut body included), the
// audit events of a run, and the run's backend on a given server.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { SignedIn } from '../support/auth.js';
import { jsonHeaders } from '../support/auth.js';
import { adminQuery } from '../support/databases.js';
import type { TestServer } from '../support/server.js';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** False when the connection ended before the body did (no last chunk). */
  complete: boolean;
}

export interface Sent {
  runId: string;
  /** The bytes received so far. */
  received(): string;
  answer: Promise<Answer>;
}

/** POSTs a run over a real socket; `answer` settles when the response ends, complete or cut. */
export function sendRun(
  t: TestServer,
  who: SignedIn,
  sql: string,
  options: { path?: string; accept?: string; runId?: string } = {},
): Sent {
  const runId = options.runId ?? randomUUID();
  let body = '';
  const answer = new Promise<Answer>((resolve, reject) => {
    const request = http.request(`${t.origin}${options.path ?? '/api/runs'}`, {
      method: 'POST',
      headers: { ...jsonHeaders(who, t), accept: options.accept ?? 'application/json' },
    });
    request.on('error', reject);
    request.on('response', (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      const done = () => resolve({ status: response.statusCode!, headers: response.headers, body, complete: response.complete });
      response.on('end', done);
      // A body cut before its last chunk: 'aborted' / 'error', then 'close' without 'end'.
      response.on('error', () => undefined);
      response.on('close', () => {
        if (!response.complete) done();
      });
    });
    request.end(JSON.stringify({ dataSource: 'main', sql, runId }));
  });
  return { runId, received: () => body, answer };
}

/** A plain request (inject would bypass the socket, and hooks behave the same either way). */
export async function request(
  t: TestServer,
  who: SignedIn | undefined,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${t.origin}${path}`, {
    method,
    headers: who ? (method === 'GET' ? { cookie: who.cookie } : jsonHeaders(who, t)) : {},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The body is exactly one error answer: {error:{code,message,...}}, nothing of Fastify's own shape. */
export function expectErrorShape(text: string, code: string): Record<string, unknown> {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(parsed), text).toEqual(['error']);
  const error = parsed.error as Record<string, unknown>;
  expect(error.code, text).toBe(code);
  expect(typeof error.message, text).toBe('string');
  return error;
}

/** The audit events of one run, oldest first (read as a superuser of the server holding the tools DB). */
export async function runEvents(t: TestServer, server: string, runId: string) {
  const { rows } = await adminQuery(
    `select action, error_code from audit_events where details->>'runId' = $1 order by seq`,
    [runId],
    t.tools.database,
    server,
  );
  return rows as Array<{ action: string; error_code: string | null }>;
}

/** Whether the run's query is executing on the server (its SQL carries the run id as a tag). */
export async function executing(server: string, runId: string): Promise<boolean> {
  const { rows } = await adminQuery(
    `select 1 from pg_stat_activity where query like $1 and state = 'active' and pid <> pg_backend_pid()`,
    [`%porthole run:${runId}%`],
    undefined,
    server,
  );
  return rows.length > 0;
}

export const CLOSINGS = ['run.finished', 'run.failed', 'run.cancelled', 'run.abandoned'];
