// Slack and webhook deliveries through the egress proxy (HTTPS_PROXY), as on Fargate in private subnets:
// a tiny real CONNECT proxy on loopback stands for the corporate proxy, and it alone can reach the
// receivers (an https server with a throwaway certificate for hooks.example). The SSRF rules still hold
// before any tunnel is opened; receivers in WEBHOOK_ALLOWED_HOSTS are reached directly.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../server/checks/signature.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { selfSignedCertificate } from '../support/certificates.js';
import { adminQuery } from '../support/databases.js';
import { waitFor } from '../engine/support.js';
import { call, createQuery, expectStatus } from '../queries/support.js';

interface Tunnel {
  authority: string;
  proxyAuthorization: string | undefined;
}
interface Received {
  host: string | undefined;
  path: string;
  body: string;
  signature: string | undefined;
  /** The address the receiver saw the connection come from: the proxy's side of the tunnel, or the app. */
  viaProxy: boolean;
}

let dir: string;
let certificate: string;
let receiver: https.Server;
let receiverPort: number;
let proxy: http.Server;
let proxyPort: number;
const tunnels: Tunnel[] = [];
const proxiedSockets = new Set<number>();
const received: Received[] = [];
let t: TestApp;
let admin: SignedIn;
let editor: SignedIn;

// Names the test's resolver answers: public addresses the machine cannot reach itself, and one private.
const resolver = async (host: string): Promise<string[]> => {
  if (host === 'hooks.example' || host === 'slack.example' || host === 'denied.example') return ['93.184.216.34'];
  if (host === 'internal.example') return ['10.0.0.7'];
  if (host === 'localhost') return ['127.0.0.1'];
  throw new Error(`unexpected lookup of ${host}`);
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'porthole-egress-'));
  const files = selfSignedCertificate(dir, 'receiver', 'hooks.example', [
    'DNS:hooks.example',
    'DNS:slack.example',
    'DNS:localhost',
  ]);
  certificate = await readFile(files.cert, 'utf8');

  receiver = https.createServer({ key: await readFile(files.key), cert: certificate }, (request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({
        host: request.headers.host,
        path: request.url!,
        body,
        signature: request.headers['porthole-signature'] as string | undefined,
        viaProxy: proxiedSockets.has(request.socket.remotePort!),
      });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverPort = (receiver.address() as AddressInfo).port;

  // The proxy: CONNECT hooks.example:443 and slack.example:443 reach the loopback receiver; anything
  // else is refused with 403, as an allowlisting proxy does.
  proxy = http.createServer((_request, response) => response.writeHead(405).end());
  proxy.on('connect', (request: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push({ authority: request.url!, proxyAuthorization: request.headers['proxy-authorization'] });
    if (request.url !== 'hooks.example:443' && request.url !== 'slack.example:443') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = net.connect(receiverPort, '127.0.0.1', () => {
      proxiedSockets.add(upstream.localPort!);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.address() as AddressInfo).port;

  t = await startTestApp(
    {
      HTTPS_PROXY: `http://porthole:pr%40xy-pass@127.0.0.1:${proxyPort}`,
      NO_PROXY: 'localhost.corp.invalid',
      WEBHOOK_ALLOWED_HOSTS: 'localhost',
      PUBLIC_URL: 'http://127.0.0.1:3000',
    },
    { checks: { resolver, tlsCa: certificate, deliveryRetryDelaySeconds: 1 } },
  );
  [admin, editor] = await Promise.all([signIn(t, 'admin'), signIn(t, 'editor')]);
});

afterAll(async () => {
  await t?.close();
  proxy?.close();
  receiver?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const destination = (kind: 'slack' | 'webhook', name: string, url: string) =>
  expectStatus<{ id: string; secret: string | null }>(
    call(t, admin, 'POST', '/api/alert-destinations', { kind, name, url }),
    201,
  );
const sendTest = (id: string) =>
  expectStatus<{ status: string; detail: string | null }>(call(t, admin, 'POST', `/api/alert-destinations/${id}/test`), 200);

describe('deliveries through the egress proxy', () => {
  it("delivers a check's Slack message and signed webhook through CONNECT tunnels, TLS end to end", async () => {
    const webhook = await destination('webhook', 'outside webhook', 'https://hooks.example/porthole');
    const slack = await destination('slack', 'outside slack', 'https://slack.example/services/T000/B000/XXXX');
    const query = await createQuery(t, editor, { sql: 'select 7 as failed' });
    const check = await expectStatus<{ id: string }>(
      call(t, editor, 'POST', '/api/checks', {
        queryId: query.id,
        name: 'Failed jobs',
        schedule: { every: '1h' },
        condition: { kind: 'threshold', column: 'failed', op: '>', value: 0 },
        destinationIds: [webhook.id, slack.id],
      }),
      201,
    );
    const tunnelsBefore = tunnels.length;
    const outcome = await expectStatus<{ state: string; notified: boolean }>(
      call(t, editor, 'POST', `/api/checks/${check.id}/run`),
      200,
    );
    expect(outcome).toMatchObject({ state: 'failing', notified: true });
    const deliveries = await waitFor(
      'both deliveries',
      async () => {
        const { runs } = await expectStatus<{ runs: Array<{ deliveries: Array<{ target: string; status: string }> }> }>(
          call(t, editor, 'GET', `/api/checks/${check.id}/runs`),
          200,
        );
        const done = runs[0]!.deliveries;
        return done.length >= 2 && done;
      },
      20_000,
    );
    expect(deliveries.map((d) => `${d.target}:${d.status}`).sort()).toEqual(['outside slack:sent', 'outside webhook:sent']);

    // Each went through the proxy, which saw the host name (and the proxy's credentials) and nothing else.
    const opened = tunnels.slice(tunnelsBefore);
    expect(opened.map((tunnel) => tunnel.authority).sort()).toEqual(['hooks.example:443', 'slack.example:443']);
    for (const tunnel of opened)
      expect(tunnel.proxyAuthorization).toBe(`Basic ${Buffer.from('porthole:pr@xy-pass').toString('base64')}`);
    const hook = received.find((r) => r.path === '/porthole')!;
    expect(hook).toMatchObject({ host: 'hooks.example', viaProxy: true });
    expect(verifySignature(webhook.secret!, hook.body, hook.signature!)).toBe(true);
    expect(JSON.parse(hook.body)).toMatchObject({ check: { id: check.id }, state: 'failing' });
    const slackMessage = received.find((r) => r.path === '/services/T000/B000/XXXX')!;
    expect(slackMessage.viaProxy).toBe(true);
    expect(JSON.parse(slackMessage.body)).toMatchObject({ text: '[Porthole] Failed jobs is FAILING' });
  });

  it('applies the SSRF rules before opening a tunnel: a host that now resolves to 10.x is refused', async () => {
    const saved = await destination('webhook', 'rebinding through the proxy', 'https://hooks.example/rebind');
    await adminQuery(
      `update alert_destinations set url = 'https://internal.example/hook' where id = $1`,
      [saved.id],
      t.tools.database,
    );
    const tunnelsBefore = tunnels.length;
    const outcome = await sendTest(saved.id);
    expect(outcome.status).toBe('refused');
    expect(outcome.detail).toMatch(/internal\.example resolves to 10\.0\.0\.7/);
    expect(tunnels.length).toBe(tunnelsBefore);
    // And at save time, as without a proxy.
    const refused = await expectStatus<{ error: { code: string } }>(
      call(t, admin, 'POST', '/api/alert-destinations', {
        kind: 'webhook',
        name: 'metadata',
        url: 'https://169.254.170.2/v2/credentials',
      }),
      400,
    );
    expect(refused.error.code).toBe('destination_refused');
  });

  it("reports the proxy's refusal as a failed delivery", async () => {
    const denied = await destination('slack', 'not on the proxy allowlist', 'https://denied.example/hook');
    expect(await sendTest(denied.id)).toEqual({
      status: 'failed',
      detail: 'The egress proxy answered 403 to CONNECT denied.example:443.',
    });
    expect(tunnels.at(-1)!.authority).toBe('denied.example:443');
  });

  it('reaches a host in WEBHOOK_ALLOWED_HOSTS directly (a receiver inside the VPC), not through the proxy', async () => {
    const inside = await destination('webhook', 'inside the VPC', `https://localhost:${receiverPort}/inside`);
    const tunnelsBefore = tunnels.length;
    expect(await sendTest(inside.id)).toEqual({ status: 'sent', detail: null });
    expect(tunnels.length).toBe(tunnelsBefore);
    expect(received.find((r) => r.path === '/inside')).toMatchObject({ viaProxy: false });
  });
});
