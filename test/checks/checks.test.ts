// Checks end to end on the real app: states and their changes, reminders and mute, the owner losing
// access, time limits, scheduled runs through the scheduler (once per slot), email to a real SMTP server
// on loopback, Slack and signed webhooks to a loopback receiver that verifies the signature, retries
// after a 500, and the SSRF refusals.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemResolver } from '../../server/checks/outbound.js';
import { RUN_QUEUE } from '../../server/checks/service.js';
import { verifySignature } from '../../server/checks/signature.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { adminQuery } from '../support/databases.js';
import { waitFor } from '../engine/support.js';
import { call, createQuery, expectStatus, save } from '../queries/support.js';

interface Received {
  path: string;
  body: string;
  signature?: string;
}

let t: TestApp;
let admin: SignedIn;
let editor: SignedIn;
let other: SignedIn;
let receiver: http.Server;
let receiverUrl: string;
const received: Received[] = [];
let failuresLeft = 0;
let smtp: SMTPServer;
const mails: string[] = [];

const resolver = async (host: string): Promise<string[]> => {
  if (host === 'internal.example') return ['10.0.0.7'];
  if (host === 'hooks.example') return ['93.184.216.34'];
  return systemResolver(host);
};

beforeAll(async () => {
  receiver = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/redirect') {
        response.writeHead(302, { location: 'http://10.0.0.1/latest/meta-data' }).end();
        return;
      }
      received.push({ path: request.url!, body, signature: request.headers['porthole-signature'] as string | undefined });
      if (request.url === '/flaky' && failuresLeft > 0) {
        failuresLeft--;
        response.writeHead(500).end('try again');
        return;
      }
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      stream.on('end', () => {
        mails.push(raw);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  t = await startTestApp(
    {
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      ALERT_FROM: 'Porthole <alerts@example.com>',
      PUBLIC_URL: 'http://127.0.0.1:3000',
    },
    { checks: { resolver, deliveryRetryDelaySeconds: 1 } },
  );
  [admin, editor, other] = await Promise.all([signIn(t, 'admin'), signIn(t, 'editor'), signIn(t, 'editor')]);
});

afterAll(async () => {
  await t?.close();
  receiver?.close();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

interface CheckBody {
  id: string;
  state: string;
  stateReason: string | null;
  nextRuns: string[];
  nextRunAt: string | null;
  scheduleText: string;
}
interface Outcome {
  checkRunId: string;
  state: string;
  previousState: string;
  reason: string;
  notified: boolean;
}
interface RunsBody {
  runs: Array<{
    id: string;
    trigger: string;
    slot: string | null;
    state: string;
    notified: boolean;
    deliveries: Array<{
      channel: string;
      target: string;
      attempt: number;
      status: string;
      detail: string | null;
      responseStatus: number | null;
    }>;
  }>;
}

async function destination(kind: 'slack' | 'webhook', name: string, url: string) {
  return expectStatus<{ id: string; secret: string | null; urlHint: string }>(
    call(t, admin, 'POST', '/api/alert-destinations', { kind, name, url }),
    201,
  );
}

const runNow = (who: SignedIn, id: string) => expectStatus<Outcome>(call(t, who, 'POST', `/api/checks/${id}/run`), 200);
const runsOf = (id: string) => expectStatus<RunsBody>(call(t, admin, 'GET', `/api/checks/${id}/runs`), 200);

describe('checks', () => {
  it('moves through ok, failing (notified by signed webhook, Slack and email), reminders and mute', async () => {
    const webhook = await destination('webhook', 'ops webhook', `${receiverUrl}/hook`);
    expect(webhook.secret).toMatch(/^whsec_/);
    expect(webhook.urlHint).toBe('http://127.0.0.1:' + new URL(receiverUrl).port + '/…');
    const slack = await destination('slack', 'ops slack', `${receiverUrl}/slack`);
    const listed = await expectStatus<{ destinations: Array<Record<string, unknown>> }>(
      call(t, editor, 'GET', '/api/alert-destinations'),
      200,
    );
    expect(JSON.stringify(listed)).not.toContain('/hook');
    expect(JSON.stringify(listed)).not.toContain(webhook.secret!);

    const query = await createQuery(t, editor, {
      name: 'Failed SMS',
      sql: "select {failed}::int as failed, 'sms' as channel",
      variables: [{ name: 'failed', kind: 'number' }],
    });
    const check = await expectStatus<CheckBody>(
      call(t, editor, 'POST', '/api/checks', {
        queryId: query.id,
        name: 'Too many failed SMS',
        params: { failed: 5 },
        schedule: { every: '15m' },
        condition: { kind: 'threshold', column: 'failed', op: '>', value: 10 },
        emails: ['oncall@example.com'],
        destinationIds: [webhook.id, slack.id],
        remindEveryHours: 1,
      }),
      201,
    );
    expect(check.state).toBe('pending');
    expect(check.scheduleText).toBe('every 15 minutes');
    expect(check.nextRuns).toHaveLength(5);
    expect(new Date(check.nextRuns[1]!).getTime() - new Date(check.nextRuns[0]!).getTime()).toBe(15 * 60_000);

    // pending -> ok: recorded, nobody told.
    expect(await runNow(editor, check.id)).toMatchObject({ state: 'ok', previousState: 'pending', notified: false });

    // ok -> failing: told on every channel.
    await expectStatus(call(t, editor, 'PUT', `/api/checks/${check.id}`, { params: { failed: 42 } }), 200);
    const failing = await runNow(editor, check.id);
    expect(failing).toMatchObject({
      state: 'failing',
      previousState: 'ok',
      notified: true,
      reason: 'failed is 42, which is > 10.',
    });
    await waitFor('three deliveries', async () => (await runsOf(check.id)).runs[0]!.deliveries.length >= 3, 20_000);
    const hook = received.find((r) => r.path === '/hook')!;
    expect(verifySignature(webhook.secret!, hook.body, hook.signature!)).toBe(true);
    expect(verifySignature('whsec_wrong-secret-000000000000', hook.body, hook.signature!)).toBe(false);
    const payload = JSON.parse(hook.body) as Record<string, unknown>;
    expect(payload).toMatchObject({
      check: { id: check.id, name: 'Too many failed SMS' },
      state: 'failing',
      previousState: 'ok',
      query: { id: query.id, name: 'Failed SMS' },
      params: { failed: 42 },
      rows: [[42, 'sms']],
    });
    expect(payload.url).toBe(`http://127.0.0.1:3000/queries/${query.id}?failed=42`);
    const slackMessage = JSON.parse(received.find((r) => r.path === '/slack')!.body) as { text: string; blocks: unknown[] };
    expect(slackMessage.text).toBe('[Porthole] Too many failed SMS is FAILING');
    expect(JSON.stringify(slackMessage.blocks)).toContain('42 | sms');
    await waitFor('the email', async () => mails.length > 0, 20_000);
    expect(mails[0]).toContain('Subject: [Porthole] Too many failed SMS is FAILING');
    expect(mails[0]).toContain('To: oncall@example.com');
    expect(mails[0]).toContain('Content-Type: text/html');
    expect(mails[0]).toContain('<td>42</td>');

    // Still failing: no news, no message.
    expect(await runNow(editor, check.id)).toMatchObject({ state: 'failing', notified: false });
    // An hour after the last message, a reminder.
    await adminQuery(
      `update checks set last_notified_at = now() - interval '61 minutes' where id = $1`,
      [check.id],
      t.tools.database,
    );
    expect(await runNow(editor, check.id)).toMatchObject({ state: 'failing', notified: true });
    // Muted: the change back to ok is recorded, nobody is told.
    const until = new Date(Date.now() + 3_600_000).toISOString();
    await expectStatus(call(t, editor, 'PUT', `/api/checks/${check.id}`, { params: { failed: 1 }, mutedUntil: until }), 200);
    expect(await runNow(editor, check.id)).toMatchObject({ state: 'ok', previousState: 'failing', notified: false });

    const history = await runsOf(check.id);
    expect(history.runs.map((r) => `${r.state}:${r.notified}`)).toEqual([
      'ok:false',
      'failing:true',
      'failing:false',
      'failing:true',
      'ok:false',
    ]);
    const audit = await adminQuery(
      `select actor_user_id, details->>'state' as state from audit_events where action = 'check.run' and details->>'checkId' = $1 order by seq`,
      [check.id],
      t.tools.database,
    );
    expect(audit.rows.map((r) => r.state)).toEqual(['ok', 'failing', 'failing', 'failing', 'ok']);
    expect(new Set(audit.rows.map((r) => r.actor_user_id))).toEqual(new Set([editor.user.id]));
  });

  it('rows, no_rows, an error, its own time limit, and the owner losing access', async () => {
    const make = async (
      sql: string,
      condition: unknown,
      extra: Record<string, unknown> = {},
      who = editor,
      visibility?: 'private',
    ) => {
      const query = await createQuery(t, who, { sql, ...(visibility ? { visibility } : {}) });
      const check = await expectStatus<CheckBody>(
        call(t, editor, 'POST', '/api/checks', {
          queryId: query.id,
          name: sql,
          schedule: { cron: '0 9 * * 1-5', timeZone: 'Europe/Paris' },
          condition,
          ...extra,
        }),
        201,
      );
      return { query, check };
    };
    const bad = await make('select 1 as id where false', { kind: 'rows' });
    expect(await runNow(editor, bad.check.id)).toMatchObject({ state: 'ok', reason: 'The query returned no rows.' });
    const missing = await make('select 1 as id where false', { kind: 'no_rows' });
    expect(await runNow(editor, missing.check.id)).toMatchObject({ state: 'failing', reason: 'The query returned no rows.' });
    const broken = await make('select 1 / 0 as x', { kind: 'rows' });
    expect(await runNow(editor, broken.check.id)).toMatchObject({
      state: 'error',
      reason: expect.stringMatching(/division by zero/i),
    });
    const slow = await make('select pg_sleep(5) as slept', { kind: 'rows' }, { timeoutMs: 1000 });
    expect(await runNow(editor, slow.check.id)).toMatchObject({
      state: 'timed_out',
      reason: expect.stringMatching(/limit of 1 s/),
    });

    // The check's owner can read another editor's team query until it becomes private.
    const shared = await make('select 1 as id', { kind: 'no_rows' }, {}, other);
    expect((await runNow(editor, shared.check.id)).state).toBe('ok');
    await expectStatus(save(t, other, shared.query.id, 1, { visibility: 'private' }), 200);
    const lost = await runNow(editor, shared.check.id);
    expect(lost).toMatchObject({ state: 'error', previousState: 'ok' });
    expect(lost.reason).toMatch(/can no longer run this query/);
    // Run now by an admin still runs as the owner, with the owner's (lost) access.
    expect((await runNow(admin, shared.check.id)).state).toBe('error');
    // Somebody else cannot change or run it.
    await expectStatus(call(t, other, 'POST', `/api/checks/${bad.check.id}/run`), 403);
  });

  it('refuses a bad schedule and a query the author cannot read', async () => {
    const query = await createQuery(t, other, { visibility: 'private' });
    const body = (extra: Record<string, unknown>) => ({
      queryId: query.id,
      name: 'x',
      schedule: { every: '1h' },
      condition: { kind: 'rows' },
      ...extra,
    });
    await expectStatus(call(t, editor, 'POST', '/api/checks', body({})), 404);
    const mine = await createQuery(t, editor);
    const refused = await expectStatus<{ error: { code: string } }>(
      call(t, editor, 'POST', '/api/checks', body({ queryId: mine.id, schedule: { cron: '61 * * * *' } })),
      400,
    );
    expect(refused.error.code).toBe('invalid_schedule');
  });

  it('runs due checks through the scheduler once per slot', async () => {
    const query = await createQuery(t, editor, { sql: 'select 1 as id' });
    const check = await expectStatus<CheckBody>(
      call(t, editor, 'POST', '/api/checks', {
        queryId: query.id,
        name: 'scheduled',
        schedule: { every: '5m' },
        condition: { kind: 'rows' },
      }),
      201,
    );
    const slot = new Date(Math.floor(Date.now() / 300_000) * 300_000 - 300_000);
    await adminQuery(`update checks set next_run_at = $2 where id = $1`, [check.id, slot], t.tools.database);
    const send = (checkId: string, due: Date) =>
      t.app.scheduler
        .send(RUN_QUEUE, { checkId, slot: due.toISOString() }, { singletonKey: `${checkId}@${due.toISOString()}` })
        .then(() => undefined);
    expect(await t.app.checks.dispatchDue(new Date(), send)).toBeGreaterThanOrEqual(1);
    // The next run moved on, so a second dispatch finds nothing due for this check.
    const after = await expectStatus<CheckBody>(call(t, editor, 'GET', `/api/checks/${check.id}`), 200);
    expect(new Date(after.nextRunAt!).getTime()).toBeGreaterThan(Date.now());
    await waitFor('the scheduled run', async () => (await runsOf(check.id)).runs.find((r) => r.state), 20_000);
    // The same slot sent again (as a retry after a dead task would) is not run twice.
    await t.app.scheduler.send(RUN_QUEUE, { checkId: check.id, slot: slot.toISOString() });
    await waitFor('the queue to drain', async () => {
      const { rows } = await adminQuery(
        `select count(*)::int as open from pgboss.job where name = $1 and state in ('created','active','retry')`,
        [RUN_QUEUE],
        t.tools.database,
      );
      return rows[0].open === 0;
    });
    const runs = (await runsOf(check.id)).runs;
    expect(runs.map((r) => `${r.trigger}@${r.slot}:${r.state}`)).toEqual([`schedule@${slot.toISOString()}:failing`]);
  });

  it('retries a delivery after a 500, with every attempt in the log', async () => {
    const flaky = await destination('webhook', 'flaky', `${receiverUrl}/flaky`);
    failuresLeft = 1;
    const query = await createQuery(t, editor, { sql: 'select 1 as id' });
    const check = await expectStatus<CheckBody>(
      call(t, editor, 'POST', '/api/checks', {
        queryId: query.id,
        name: 'flaky',
        schedule: { every: '1d' },
        condition: { kind: 'rows' },
        destinationIds: [flaky.id],
      }),
      201,
    );
    expect(await runNow(editor, check.id)).toMatchObject({ state: 'failing', notified: true });
    await waitFor(
      'the retried delivery',
      async () => (await runsOf(check.id)).runs[0]!.deliveries.some((d) => d.status === 'sent'),
      30_000,
    );
    const deliveries = (await runsOf(check.id)).runs[0]!.deliveries;
    expect(deliveries.map((d) => `${d.attempt}:${d.status}:${d.responseStatus}`)).toEqual(['1:failed:500', '2:sent:200']);
    expect(deliveries[0]!.target).toBe('flaky');
  });

  it('refuses SSRF targets at save and at send, and never follows a redirect', async () => {
    const refuse = async (url: string, pattern: RegExp) => {
      const body = await expectStatus<{ error: { code: string; message: string } }>(
        call(t, admin, 'POST', '/api/alert-destinations', { kind: 'webhook', name: `refused ${url}`, url }),
        400,
      );
      expect(body.error.code).toBe('destination_refused');
      expect(body.error.message).toMatch(pattern);
    };
    await refuse('https://localhost:8443/hook', /resolves to (127\.0\.0\.1|::1), a loopback/);
    await refuse('https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254/);
    await refuse('https://169.254.170.2/v2/credentials', /169\.254\.170\.2/);
    await refuse('https://internal.example/hook', /internal\.example resolves to 10\.0\.0\.7/);
    await refuse('https://[fd00::1]/hook', /fd00::1/);
    await refuse('http://hooks.example/hook', /must use https/);
    // Editors cannot add destinations at all.
    await expectStatus(
      call(t, editor, 'POST', '/api/alert-destinations', { kind: 'slack', name: 'x', url: 'https://hooks.example/x' }),
      403,
    );

    // A redirect (to a private address) is an error; nothing follows it.
    const redirect = await destination('webhook', 'redirecting', `${receiverUrl}/redirect`);
    const sent = await expectStatus<{ status: string; detail: string }>(
      call(t, admin, 'POST', `/api/alert-destinations/${redirect.id}/test`),
      200,
    );
    expect(sent).toEqual({ status: 'refused', detail: 'The receiver answered 302 (a redirect); redirects are not followed.' });

    // Saved while it resolved to a public address; at send time it resolves to 10.x: refused again.
    const rebinding = await destination('webhook', 'rebinding', 'https://hooks.example/hook');
    await adminQuery(
      `update alert_destinations set url = 'https://internal.example/hook' where id = $1`,
      [rebinding.id],
      t.tools.database,
    );
    const resent = await expectStatus<{ status: string; detail: string }>(
      call(t, admin, 'POST', `/api/alert-destinations/${rebinding.id}/test`),
      200,
    );
    expect(resent.status).toBe('refused');
    expect(resent.detail).toMatch(/10\.0\.0\.7/);

    // Secrets and URLs stay out of the audit log.
    const { rows } = await adminQuery(
      `select details::text as d from audit_events where action like 'destination.%'`,
      [],
      t.tools.database,
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row.d).not.toMatch(/whsec_|127\.0\.0\.1|hooks\.example/);
  });
});
