// What the check form needs from the API: the schedule preview (cron with a time zone, in words, with its
// next runs, validated as a save is), editing and deleting by the owner or an admin only, destinations
// that disappear from checks when deleted, and demo mode's outbox emails linked from the check's history.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { adminQuery } from '../support/databases.js';
import { waitFor } from '../engine/support.js';
import { call, createQuery, expectStatus } from '../queries/support.js';

let t: TestApp;
let outbox: string;
let admin: SignedIn;
let owner: SignedIn;
let otherEditor: SignedIn;
let viewer: SignedIn;

beforeAll(async () => {
  outbox = await mkdtemp(path.join(os.tmpdir(), 'porthole-outbox-'));
  t = await startTestApp({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' }, { checks: { outboxDir: outbox } });
  [admin, owner, otherEditor, viewer] = await Promise.all([
    signIn(t, 'admin'),
    signIn(t, 'editor'),
    signIn(t, 'editor'),
    signIn(t, 'viewer'),
  ]);
});
afterAll(async () => {
  await t?.close();
  if (outbox) await rm(outbox, { recursive: true, force: true });
});

interface Preview {
  scheduleText: string;
  nextRuns: string[];
}
interface CheckBody {
  id: string;
  name: string;
  schedule: Record<string, unknown>;
  scheduleText: string;
  destinationIds: string[];
  emails: string[];
  version: number;
  canEdit: boolean;
}

const preview = (query: string) => call(t, owner, 'GET', `/api/checks/schedule-preview?${query}`);

describe('schedule preview', () => {
  it('puts a cron expression in words and gives its next five runs in its time zone', async () => {
    const body = await expectStatus<Preview>(
      preview(`cron=${encodeURIComponent('30 9 * * 1-5')}&timeZone=America/New_York`),
      200,
    );
    expect(body.scheduleText).toBe('at 09:30, Monday through Friday (America/New_York time)');
    expect(body.nextRuns).toHaveLength(5);
    for (const run of body.nextRuns) {
      const local = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'America/New_York',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(new Date(run));
      expect(local).toMatch(/^(Mon|Tue|Wed|Thu|Fri) 09:30$/);
    }
    const every = await expectStatus<Preview>(preview('every=15m'), 200);
    expect(every.scheduleText).toBe('every 15 minutes');
    expect(new Date(every.nextRuns[1]!).getTime() - new Date(every.nextRuns[0]!).getTime()).toBe(15 * 60_000);
  });

  it('refuses what a save would refuse, with the same code', async () => {
    for (const query of [
      `cron=${encodeURIComponent('61 * * * *')}`,
      `cron=${encodeURIComponent('* * * *')}`,
      `cron=${encodeURIComponent('0 9 * * *')}&timeZone=Mars/Olympus`,
      '',
      `every=1h&cron=${encodeURIComponent('0 9 * * *')}`,
    ]) {
      const refused = await expectStatus<{ error: { code: string; message: string } }>(preview(query), 400);
      expect(refused.error.code, query).toBe('invalid_schedule');
    }
  });
});

describe('editing and deleting a check', () => {
  async function newCheck(): Promise<CheckBody> {
    const query = await createQuery(t, owner, { sql: 'select 1 as failed' });
    return expectStatus<CheckBody>(
      call(t, owner, 'POST', '/api/checks', {
        queryId: query.id,
        name: 'Failed imports',
        schedule: { every: '1h' },
        condition: { kind: 'rows' },
        emails: ['oncall@example.com'],
      }),
      201,
    );
  }

  it('lets the owner change every field the form shows, and says who may edit', async () => {
    const check = await newCheck();
    expect(check.canEdit).toBe(true);
    const hook = await expectStatus<{ id: string }>(
      call(t, admin, 'POST', '/api/alert-destinations', { kind: 'webhook', name: 'edit hook', url: 'http://127.0.0.1:9/hook' }),
      201,
    );
    const edited = await expectStatus<CheckBody>(
      call(t, owner, 'PUT', `/api/checks/${check.id}`, {
        name: 'Failed imports (weekdays)',
        schedule: { cron: '0 8 * * 1-5', timeZone: 'Europe/Berlin' },
        condition: { kind: 'threshold', column: 'failed', op: '>=', value: 3 },
        emails: [],
        destinationIds: [hook.id],
        remindEveryHours: 6,
        timeoutMs: 20_000,
        enabled: true,
      }),
      200,
    );
    expect(edited).toMatchObject({
      name: 'Failed imports (weekdays)',
      schedule: { cron: '0 8 * * 1-5', timeZone: 'Europe/Berlin' },
      scheduleText: 'at 08:00, Monday through Friday (Europe/Berlin time)',
      emails: [],
      destinationIds: [hook.id],
      version: check.version + 1,
    });
    // Another editor sees it (a team query) but may not change it; a viewer neither.
    const seen = await expectStatus<CheckBody>(call(t, otherEditor, 'GET', `/api/checks/${check.id}`), 200);
    expect(seen.canEdit).toBe(false);
    await expectStatus(call(t, otherEditor, 'PUT', `/api/checks/${check.id}`, { name: 'mine now' }), 403);
    await expectStatus(call(t, viewer, 'PUT', `/api/checks/${check.id}`, { name: 'mine now' }), 403);
    // An admin may.
    await expectStatus(call(t, admin, 'PUT', `/api/checks/${check.id}`, { name: 'Renamed by an admin' }), 200);
  });

  it('deletes for the owner or an admin only, and audits it', async () => {
    const first = await newCheck();
    await expectStatus(call(t, otherEditor, 'DELETE', `/api/checks/${first.id}`), 403);
    await expectStatus(call(t, viewer, 'DELETE', `/api/checks/${first.id}`), 403);
    await expectStatus(call(t, owner, 'DELETE', `/api/checks/${first.id}`), 204);
    await expectStatus(call(t, owner, 'GET', `/api/checks/${first.id}`), 404);
    const second = await newCheck();
    await expectStatus(call(t, admin, 'DELETE', `/api/checks/${second.id}`), 204);
    const { rows } = await adminQuery(
      `select details->>'checkId' as id from audit_events where action = 'check.deleted' order by seq`,
      [],
      t.tools.database,
    );
    expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining([first.id, second.id]));
  });

  it('takes a deleted destination off the checks that named it, so they can still be edited', async () => {
    const check = await newCheck();
    const [keep, gone] = await Promise.all(
      ['kept hook', 'deleted hook'].map((name) =>
        expectStatus<{ id: string }>(
          call(t, admin, 'POST', '/api/alert-destinations', { kind: 'webhook', name, url: 'http://127.0.0.1:9/hook' }),
          201,
        ),
      ),
    );
    await expectStatus(call(t, owner, 'PUT', `/api/checks/${check.id}`, { destinationIds: [keep!.id, gone!.id] }), 200);
    await expectStatus(call(t, admin, 'DELETE', `/api/alert-destinations/${gone!.id}`), 204);
    const after = await expectStatus<CheckBody>(call(t, owner, 'GET', `/api/checks/${check.id}`), 200);
    expect(after.destinationIds).toEqual([keep!.id]);
    await expectStatus(call(t, owner, 'PUT', `/api/checks/${check.id}`, { name: 'still editable' }), 200);
  });
});

describe("demo mode's outbox", () => {
  it("serves a delivery's email as text to those who can see the check, and nothing else", async () => {
    const query = await createQuery(t, owner, { sql: 'select 5 as failed' });
    const check = await expectStatus<CheckBody>(
      call(t, owner, 'POST', '/api/checks', {
        queryId: query.id,
        name: 'Failed <b>SMS</b>',
        schedule: { every: '1d' },
        condition: { kind: 'rows' },
        emails: ['oncall@example.com'],
      }),
      201,
    );
    await expectStatus(call(t, owner, 'POST', `/api/checks/${check.id}/run`), 200);
    const file = await waitFor(
      'the email in the outbox',
      async () => {
        const { runs } = await expectStatus<{ runs: Array<{ deliveries: Array<{ outboxFile?: string }> }> }>(
          call(t, owner, 'GET', `/api/checks/${check.id}/runs`),
          200,
        );
        return runs[0]?.deliveries[0]?.outboxFile;
      },
      20_000,
    );
    expect(await readdir(outbox)).toContain(file);

    const url = `/api/checks/${check.id}/outbox/${file}`;
    const shown = await call(t, otherEditor, 'GET', url);
    expect(shown.statusCode).toBe(200);
    expect(shown.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(shown.headers['x-content-type-options']).toBe('nosniff');
    expect(shown.body).toContain('To: oncall@example.com');
    expect(shown.body).toContain('Subject: [Porthole] Failed <b>SMS</b> is FAILING');

    // Another check's id with this file, a file no delivery wrote, a path: 404 or 400, never the file.
    const other = await newCheckOn(query.id);
    await expectStatus(call(t, owner, 'GET', `/api/checks/${other}/outbox/${file}`), 404);
    await expectStatus(call(t, owner, 'GET', `/api/checks/${check.id}/outbox/2020-01-01T00-00-00-000Z-abcdef.eml`), 404);
    const traversal = await call(t, owner, 'GET', `/api/checks/${check.id}/outbox/..%2F..%2Fetc%2Fpasswd`);
    expect(traversal.statusCode).toBe(400);
    // A private query's check is not visible to others, nor is its mail.
    await adminQuery(`update queries set visibility = 'private' where id = $1`, [query.id], t.tools.database);
    await expectStatus(call(t, otherEditor, 'GET', url), 404);
    expect((await call(t, owner, 'GET', url)).statusCode).toBe(200);
  });

  async function newCheckOn(queryId: string): Promise<string> {
    const body = await expectStatus<CheckBody>(
      call(t, owner, 'POST', '/api/checks', {
        queryId,
        name: 'another',
        schedule: { every: '1d' },
        condition: { kind: 'rows' },
      }),
      201,
    );
    return body.id;
  }
});

describe('without an outbox (SMTP or no email)', () => {
  it('has no outbox route', async () => {
    const plain = await startTestApp();
    try {
      const someone = await signIn(plain, 'editor');
      const response = await call(plain, someone, 'GET', '/api/checks/1/outbox/x.eml');
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ error: { code: 'not_found' } });
    } finally {
      await plain.close();
    }
  });
});
