// The audit log's "Who" filter (issue #18, defect 5): one grammar, a user id or an email address, on
// every endpoint that takes `actor`, each checked here with both forms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { signIn, type SignedIn } from './support/auth.js';

describe('the actor filter on every audit endpoint', () => {
  let t: TestApp;
  let admin: SignedIn;
  let alice: SignedIn;
  let bob: SignedIn;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await signIn(t, 'admin');
    alice = await signIn(t, 'editor', { email: 'Alice.Filter@example.com' });
    bob = await signIn(t, 'editor', { email: 'bob.filter@example.com' });
    for (const who of [alice, alice, bob]) {
      await t.app.audit.record({
        action: 'run.started',
        actor: { id: who.user.id, email: who.user.email },
        dataSource: 'main',
        sql: `select '${who.user.email}'`,
      });
    }
  });
  afterAll(() => t.close());

  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: { cookie: admin.cookie } });
  const forms = () => [
    ['id', alice.user.id],
    ['email', 'alice.filter@example.com'],
  ];

  it('GET /api/audit keeps only that person, by id or by email', async () => {
    for (const [form, actor] of forms()) {
      const res = await get(`/api/audit?action=run.started&actor=${encodeURIComponent(actor!)}`);
      expect({ form, status: res.statusCode }).toEqual({ form, status: 200 });
      const actors = res.json().events.map((e: { actor: { id: string } }) => e.actor.id);
      expect({ form, actors }).toEqual({ form, actors: [alice.user.id, alice.user.id] });
    }
  });

  it('GET /api/audit.csv keeps only that person, by id or by email', async () => {
    for (const [form, actor] of forms()) {
      const res = await get(`/api/audit.csv?action=run.started&actor=${encodeURIComponent(actor!)}`);
      expect({ form, status: res.statusCode }).toEqual({ form, status: 200 });
      expect(res.body).toContain(alice.user.email);
      expect(res.body).not.toContain(bob.user.email);
    }
  });

  it('GET /api/audit/activity (the "Runs per day" chart) keeps only that person, by id or by email', async () => {
    for (const [form, actor] of forms()) {
      const res = await get(`/api/audit/activity?actor=${encodeURIComponent(actor!)}`);
      expect({ form, status: res.statusCode, body: res.statusCode === 200 ? '' : res.body }).toEqual({
        form,
        status: 200,
        body: '',
      });
      const days = res.json().days as Array<{ actor: { id: string }; runs: number }>;
      expect({ form, days: days.map((d) => [d.actor.id, d.runs]) }).toEqual({ form, days: [[alice.user.id, 2]] });
    }
  });

  it('an email nobody has matches nothing on every endpoint, rather than everything', async () => {
    const res = await get('/api/audit/activity?actor=nobody@example.com');
    expect(res.json().days).toEqual([]);
    const list = await get('/api/audit?actor=nobody@example.com');
    expect(list.json().events).toEqual([]);
  });
});
