// The request body limit (issue #18, defect 4): 1 MiB, coherent with the SQL cap (100,000 characters,
// 413 sql_too_large), answered as a clean 413 {error:{code}} directly and through a TLS-terminating proxy
// (as the ALB is), with and without a content-length, up to 64 MB: the server reads the unread body to its
// end after answering instead of resetting the connection, so the proxy passes the answer on.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES } from '../server/app.js';
import { MAX_SQL_LENGTH } from '../server/engine/input.js';
import { LIMITS } from '../server/queries/content.js';
import { jsonHeaders, signIn, type SignedIn } from './support/auth.js';
import { selfSignedCertificate } from './support/certificates.js';
import { startTestServer, type TestServer } from './support/server.js';

/** A throwaway self-signed certificate for 127.0.0.1. */
async function proxyCertificate(): Promise<{ key: Buffer; cert: Buffer; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-proxy-cert-'));
  const { key, cert } = selfSignedCertificate(dir, 'proxy', '127.0.0.1', ['IP:127.0.0.1']);
  return { key: await readFile(key), cert: await readFile(cert), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A balancer that speaks HTTP/2 to browsers forwards their bodies chunked, without a length. */
function withoutLength(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const { 'content-length': _length, ...rest } = headers;
  return { ...rest, 'transfer-encoding': 'chunked' };
}

/**
 * A TLS-terminating reverse proxy on loopback, like a load balancer: it streams the request to Porthole
 * and the answer back, and cuts the client's connection when the upstream connection fails (a load
 * balancer answers 502 or resets; either way the client never sees Porthole's answer).
 */
function startProxy(upstream: string, tls: { key: Buffer; cert: Buffer }, chunked: boolean): Promise<https.Server> {
  const target = new URL(upstream);
  const server = https.createServer(tls, (req, res) => {
    const forwarded = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...(chunked ? withoutLength(req.headers) : req.headers), 'x-forwarded-proto': 'https' },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on('error', () => res.destroy());
    // The body goes on chunk by chunk as each is flushed, as a balancer streams an upload it receives.
    req.on('data', (chunk: Buffer) => {
      req.pause();
      forwarded.write(chunk, () => req.resume());
    });
    req.on('end', () => forwarded.end());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function send(
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  ca?: Buffer,
): Promise<{ status: number; body: string } | { cut: string }> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const request = (target.protocol === 'https:' ? https : http).request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, ...(ca ? { ca } : {}) },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on('error', (error) => resolve({ cut: error.message }));
      },
    );
    request.on('error', (error) => resolve({ cut: error.message }));
    request.end(body);
  });
}

describe('the request body limit', () => {
  let t: TestServer;
  let editor: SignedIn;
  const proxies: Record<string, https.Server> = {};
  let tls: Awaited<ReturnType<typeof proxyCertificate>>;
  beforeAll(async () => {
    t = await startTestServer();
    editor = await signIn(t, 'editor');
    tls = await proxyCertificate();
    proxies.length = await startProxy(t.origin, tls, false);
    proxies.chunked = await startProxy(t.origin, tls, true);
  });
  afterAll(async () => {
    for (const proxy of Object.values(proxies)) await new Promise((resolve) => proxy.close(resolve));
    await tls?.cleanup();
    await t?.close();
  });

  const VIA = {
    directly: undefined,
    'through a TLS-terminating proxy': 'length',
    'through a TLS-terminating proxy that forwards it chunked': 'chunked',
  } as const;
  const originFor = (via: keyof typeof VIA) => {
    const proxy = VIA[via] && proxies[VIA[via]];
    return proxy ? `https://127.0.0.1:${(proxy.address() as AddressInfo).port}` : t.origin;
  };
  const sqlBody = (bytes: number) => Buffer.from(JSON.stringify({ dataSource: 'main', sql: `select '${'x'.repeat(bytes)}'` }));

  it('is coherent with the SQL cap: the largest query content allowed, even fully escaped, fits in the body limit', () => {
    // The worst case: every character escaped as \uXXXX (6 bytes) in the JSON body.
    expect(LIMITS.sql).toBe(MAX_SQL_LENGTH);
    const text = LIMITS.sql + LIMITS.name + LIMITS.description + LIMITS.tags * LIMITS.tag;
    expect(text * 6 + LIMITS.chartBytes).toBeLessThan(BODY_LIMIT_BYTES);
  });

  for (const via of Object.keys(VIA) as Array<keyof typeof VIA>) {
    it.each([5_000_000, 64_000_000])(`answers a %d-byte body with a clean 413 {error:{code}}, ${via}`, async (size) => {
      const origin = originFor(via);
      const answer = await send(`${origin}/api/runs`, { ...jsonHeaders(editor, t), origin: t.origin }, sqlBody(size), tls.cert);
      expect(answer).toMatchObject({ status: 413 });
      const { error } = JSON.parse((answer as { body: string }).body) as { error: { code: string; message: string } };
      expect(error.code).toBe('payload_too_large');
      expect(error.message).toMatch(/1 MiB/);
    });

    it(`answers SQL over the cap but under the body limit with 413 sql_too_large, ${via}`, async () => {
      const origin = originFor(via);
      const answer = await send(
        `${origin}/api/runs`,
        { ...jsonHeaders(editor, t), origin: t.origin },
        sqlBody(MAX_SQL_LENGTH + 10),
        tls.cert,
      );
      expect(answer).toMatchObject({ status: 413 });
      expect(JSON.parse((answer as { body: string }).body).error.code).toBe('sql_too_large');
    });
  }
});
