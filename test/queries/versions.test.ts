// Version history through the real API: every save a new immutable version, optimistic concurrency (409
// with the current version, never a silent overwrite), restore as a new version, fork lineage, archive
// and purge, and the audit trail of each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { adminQuery } from '../support/databases.js';
import { call, createQuery, expectStatus, save, type QueryBody } from './support.js';

describe('saved query versions', () => {
  let t: TestApp;
  let alice: SignedIn;
  let bob: SignedIn;
  let admin: SignedIn;
  beforeAll(async () => {
    t = await startTestApp();
    alice = await signIn(t, 'editor', { name: 'Alice Analyst' });
    bob = await signIn(t, 'editor', { name: 'Bob Builder' });
    admin = await signIn(t, 'admin', { name: 'Ada Admin' });
  });
  afterAll(() => t?.close());

  const auditOf = async (queryId: string) =>
    (
      await adminQuery(
        `select action, actor_user_id, query_version, details from audit_events where query_id = $1 order by seq`,
        [queryId],
        t.tools.database,
      )
    ).rows as Array<{ action: string; actor_user_id: string; query_version: number | null; details: Record<string, unknown> }>;

  it('keeps every save as a version and refuses a save based on an old one with 409 and the current version', async () => {
    const created = await createQuery(t, alice, { name: 'Failed jobs', sql: 'select 1', tags: ['Jobs', ' jobs ', 'ops'] });
    expect(created).toMatchObject({
      currentVersion: 1,
      url: `/queries/${created.id}-failed-jobs`,
      visibility: 'team',
      locked: false,
    });
    expect(created.version).toMatchObject({
      version: 1,
      tags: ['jobs', 'ops'],
      author: { id: alice.user.id },
      restoredFrom: null,
    });

    const v2 = await expectStatus(save(t, bob, created.id, 1, { sql: 'select 2' }), 200);
    expect(v2.version).toMatchObject({ version: 2, sql: 'select 2', name: 'Failed jobs', author: { id: bob.user.id } });

    // Alice still has version 1 open and saves: refused, with what Bob saved, and nothing changes.
    const conflict = await call(t, alice, 'PUT', `/api/queries/${created.id}`, { baseVersion: 1, sql: 'select 3' });
    expect(conflict.statusCode).toBe(409);
    const { error } = conflict.json();
    expect(error.code).toBe('version_conflict');
    expect(error.message).toContain('Bob Builder saved version 2');
    expect(error.currentVersion).toMatchObject({ version: 2, sql: 'select 2', author: { id: bob.user.id, name: 'Bob Builder' } });
    expect((await expectStatus(call(t, alice, 'GET', `/api/queries/${created.id}`), 200)).version.sql).toBe('select 2');

    // She chooses to keep hers: a save based on version 2 succeeds, and Bob's version stays in the history.
    const v3 = await expectStatus(save(t, alice, created.id, 2, { sql: 'select 3', description: 'mine' }), 200);
    expect(v3.currentVersion).toBe(3);
    const { versions } = await expectStatus<{ versions: Array<{ version: number; author: { id: string } }> }>(
      call(t, alice, 'GET', `/api/queries/${created.id}/versions`),
      200,
    );
    expect(versions.map((v) => [v.version, v.author.id])).toEqual([
      [3, alice.user.id],
      [2, bob.user.id],
      [1, alice.user.id],
    ]);
    expect((await expectStatus<{ sql: string }>(call(t, alice, 'GET', `/api/queries/${created.id}/versions/2`), 200)).sql).toBe(
      'select 2',
    );
    expect((await call(t, alice, 'GET', `/api/queries/${created.id}/versions/9`)).statusCode).toBe(404);

    // A save that changes nothing makes no empty version; a stale save of what is already there is no conflict.
    expect((await expectStatus(save(t, alice, created.id, 3, { sql: 'select 3' }), 200)).currentVersion).toBe(3);
    expect((await expectStatus(save(t, bob, created.id, 2, { sql: 'select 3', description: 'mine' }), 200)).currentVersion).toBe(
      3,
    );
    expect((await call(t, alice, 'PUT', `/api/queries/${created.id}`, { sql: 'select 4' })).statusCode).toBe(400); // no baseVersion

    expect((await auditOf(created.id)).map((e) => [e.action, e.actor_user_id, e.query_version])).toEqual([
      ['query.created', alice.user.id, 1],
      ['query.updated', bob.user.id, 2],
      ['query.updated', alice.user.id, 3],
    ]);
  });

  it('runs the stored SQL of the version asked for, never SQL sent beside a query id (THREATS.md 27)', async () => {
    const viewer = await signIn(t, 'viewer');
    const query = await createQuery(t, alice, {
      name: 'Services over a size',
      sql: 'select {min_id} as min_id, 1 as version',
      variables: [{ name: 'min_id', kind: 'number' }],
    });
    await expectStatus(save(t, alice, query.id, 1, { sql: 'select {min_id} as min_id, 2 as version' }), 200);
    const run = (body: Record<string, unknown>, who: SignedIn = viewer) => call(t, who, 'POST', '/api/runs', body);

    const current = await expectStatus<{ rows: unknown[][]; id: string }>(
      run({ queryId: query.id, params: { min_id: '7' } }),
      200,
    );
    expect(current.rows).toEqual([[7, 2]]); // declared a number: '7' is bound as one
    const old = await expectStatus<{ rows: unknown[][] }>(
      run({ queryId: query.id, queryVersion: 1, params: { min_id: 7 } }),
      200,
    );
    expect(old.rows).toEqual([[7, 1]]);
    expect((await run({ queryId: query.id, queryVersion: 9, params: { min_id: 7 } })).statusCode).toBe(404);

    const smuggled = await run({ queryId: query.id, sql: 'select 666', dataSource: 'main', params: { min_id: 7 } }, alice);
    expect(smuggled.statusCode).toBe(400);
    expect((await run({ dataSource: 'main', sql: 'select 1' })).statusCode).toBe(403); // viewers: saved queries only
    expect((await run({ queryVersion: 1, dataSource: 'main', sql: 'select 1' }, alice)).statusCode).toBe(400);

    const events = await adminQuery(
      `select action, query_id, query_version, sql from audit_events where action like 'run.%' and details->>'runId' = $1 order by seq`,
      [current.id],
      t.tools.database,
    );
    expect(events.rows).toEqual([
      { action: 'run.started', query_id: query.id, query_version: 2, sql: 'select {min_id} as min_id, 2 as version' },
      { action: 'run.finished', query_id: query.id, query_version: 2, sql: null },
    ]);
  });

  it('lets exactly one of two simultaneous saves of the same version win', async () => {
    const query = await createQuery(t, alice);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => save(t, i % 2 ? alice : bob, query.id, 1, { sql: `select ${i} as racer` })),
    );
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409, 409]);
    const winner = results.find((r) => r.statusCode === 200)!.json() as QueryBody;
    const current = await expectStatus(call(t, alice, 'GET', `/api/queries/${query.id}`), 200);
    expect(current.currentVersion).toBe(2);
    expect(current.version.sql).toBe(winner.version.sql);
  });

  it('restores an old version as a new version, conflict-checked like any save', async () => {
    const query = await createQuery(t, alice, { name: 'Daily sends', sql: 'select 1 as first' });
    await expectStatus(save(t, alice, query.id, 1, { name: 'Daily sends v2', sql: 'select 2 as second' }), 200);
    expect((await call(t, bob, 'POST', `/api/queries/${query.id}/versions/1/restore`, { baseVersion: 1 })).statusCode).toBe(409);
    const restored = await expectStatus(
      call(t, bob, 'POST', `/api/queries/${query.id}/versions/1/restore`, { baseVersion: 2 }),
      200,
    );
    expect(restored.currentVersion).toBe(3);
    expect(restored.version).toMatchObject({
      version: 3,
      name: 'Daily sends',
      sql: 'select 1 as first',
      restoredFrom: 1,
      author: { id: bob.user.id },
    });
    expect(restored.url).toBe(`/queries/${query.id}-daily-sends`);
    const events = await auditOf(query.id);
    expect(events.at(-1)).toMatchObject({
      action: 'query.restored',
      query_version: 3,
      details: { restoredFrom: 1, fromVersion: 2 },
    });
  });

  it('forks with lineage, hides a parent the reader may not see, and lists forks on the parent', async () => {
    const parent = await createQuery(t, alice, { name: 'Bounces', sql: 'select 1 as bounces', tags: ['email'] });
    await expectStatus(save(t, alice, parent.id, 1, { sql: 'select 2 as bounces' }), 200);
    const fork = await expectStatus(call(t, bob, 'POST', `/api/queries/${parent.id}/fork`, { version: 1 }), 201);
    expect(fork).toMatchObject({
      currentVersion: 1,
      owner: { id: bob.user.id },
      visibility: 'team',
      forkedFrom: { queryId: parent.id, version: 1, name: 'Bounces', url: `/queries/${parent.id}-bounces` },
    });
    expect(fork.version).toMatchObject({ name: 'Bounces (fork)', sql: 'select 1 as bounces', tags: ['email'] });
    const parentNow = await expectStatus(call(t, alice, 'GET', `/api/queries/${parent.id}`), 200);
    expect(parentNow.forks).toEqual([expect.objectContaining({ id: fork.id, name: 'Bounces (fork)', fromVersion: 1 })]);
    expect((await auditOf(fork.id)).map((e) => [e.action, e.details.fromQueryId, e.details.fromVersion])).toEqual([
      ['query.forked', parent.id, 1],
    ]);

    // Alice's private query forked by an admin into a team query: others see the fork but not where it came from.
    const secret = await createQuery(t, alice, { name: 'Secret', visibility: 'private' });
    const adminFork = await expectStatus(
      call(t, admin, 'POST', `/api/queries/${secret.id}/fork`, { visibility: 'team', name: 'Open copy' }),
      201,
    );
    expect(adminFork.forkedFrom?.queryId).toBe(secret.id);
    expect((await expectStatus(call(t, bob, 'GET', `/api/queries/${adminFork.id}`), 200)).forkedFrom).toBeNull();
    // A fork of a private query stays private unless asked otherwise.
    expect((await expectStatus(call(t, alice, 'POST', `/api/queries/${secret.id}/fork`), 201)).visibility).toBe('private');
  });

  it('archives and unarchives instead of deleting; only an admin purges, and only archived queries', async () => {
    const query = await createQuery(t, alice, { name: 'Old report' });
    const archived = await expectStatus(call(t, alice, 'DELETE', `/api/queries/${query.id}`), 200);
    expect(archived.archivedAt).not.toBeNull();
    expect((await save(t, alice, query.id, 1, { sql: 'select 9' })).statusCode).toBe(409); // query_archived
    const listed = await expectStatus<{ queries: Array<{ id: string }> }>(
      call(t, alice, 'GET', '/api/queries?filter=mine&limit=200'),
      200,
    );
    expect(listed.queries.map((q) => q.id)).not.toContain(query.id);
    const archivedList = await expectStatus<{ queries: Array<{ id: string }> }>(
      call(t, alice, 'GET', '/api/queries?archived=true'),
      200,
    );
    expect(archivedList.queries.map((q) => q.id)).toContain(query.id);
    expect((await expectStatus(call(t, alice, 'POST', `/api/queries/${query.id}/unarchive`), 200)).archivedAt).toBeNull();

    expect((await call(t, admin, 'DELETE', `/api/queries/${query.id}`, { purge: true })).json().error.code).toBe('not_archived');
    await expectStatus(call(t, alice, 'DELETE', `/api/queries/${query.id}`), 200);
    expect((await call(t, admin, 'DELETE', `/api/queries/${query.id}`, { purge: true })).statusCode).toBe(204);
    expect((await call(t, alice, 'GET', `/api/queries/${query.id}`)).statusCode).toBe(404);
    const versions = await adminQuery(
      'select count(*)::int as n from query_versions where query_id = $1',
      [query.id],
      t.tools.database,
    );
    expect(versions.rows[0].n).toBe(0);
    expect((await auditOf(query.id)).map((e) => e.action)).toEqual([
      'query.created',
      'query.archived',
      'query.restored',
      'query.archived',
      'query.purged',
      'query.access_denied', // alice asking for it after the purge
    ]);
  });

  it('records visibility and lock changes, and versions stay immutable even to the app role', async () => {
    const query = await createQuery(t, alice, { name: 'Settings' });
    const changed = await expectStatus(
      call(t, alice, 'PUT', `/api/queries/${query.id}`, { visibility: 'private', locked: true }),
      200,
    );
    expect(changed).toMatchObject({ visibility: 'private', locked: true, currentVersion: 1 });
    expect((await auditOf(query.id)).at(-1)).toMatchObject({
      action: 'query.visibility_changed',
      details: { visibility: { from: 'team', to: 'private' }, locked: { from: false, to: true } },
    });
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: t.tools.appUrl });
    await client.connect();
    try {
      await expect(client.query(`update query_versions set sql = 'select 666' where query_id = $1`, [query.id])).rejects.toThrow(
        /immutable/,
      );
      await expect(client.query(`delete from query_versions where query_id = $1`, [query.id])).rejects.toThrow(/immutable/);
    } finally {
      await client.end();
    }
  });

  it('refuses text PostgreSQL cannot store and keeps markup as plain text', async () => {
    const bad = [
      { name: 'nul\u0000name', sql: 'select 1' },
      { name: 'ok', sql: 'select 1 -- \u0000' },
      { name: 'ok', sql: 'select 1', description: 'lone \ud800 surrogate' },
      { name: '   ', sql: 'select 1' },
      { name: 'ok', sql: 'select 1', dataSource: 'nope' },
      {
        name: 'ok',
        sql: 'select 1',
        variables: [
          { name: 'x', kind: 'text' },
          { name: 'x', kind: 'number' },
        ],
      },
      { name: 'ok', sql: 'select 1', chart: { title: 'a\u0000b' } },
    ];
    for (const body of bad) {
      const res = await call(t, alice, 'POST', '/api/queries', { dataSource: 'main', ...body });
      expect({ body, status: res.statusCode }).toEqual({ body, status: 400 });
    }
    expect(
      (await call(t, alice, 'POST', '/api/queries', { name: 'big', dataSource: 'main', sql: 'x'.repeat(100_001) })).statusCode,
    ).toBe(413);
    const xss = '<img src=x onerror=alert(1)>';
    const stored = await createQuery(t, alice, { name: xss, sql: `select '${xss}' as "${xss}"`, tags: [xss.slice(0, 40)] });
    expect(stored.version.name).toBe(xss);
    expect(stored.url).toBe(`/queries/${stored.id}-img-src-x-onerror-alert-1`);
  });
});
