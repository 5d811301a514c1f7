// Who may do what with a saved query (issue #5, THREATS.md 38), as a table: four people x three kinds of
// query x read / run / edit / archive, each cell through the real API. A private query is a 404 for
// anyone who may not see it, exactly like a query that does not exist.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { adminQuery } from '../support/databases.js';
import { call, createQuery, expectStatus, save, type QueryBody } from './support.js';

type Actor = 'owner' | 'otherEditor' | 'viewer' | 'admin';
type Kind = 'team' | 'private' | 'locked';
type Action = 'read' | 'run' | 'edit' | 'archive';

const Y = 200;
const NO = 403;
const HIDDEN = 404;

// prettier-ignore
const EXPECTED: Record<Actor, Record<Kind, Record<Action, number>>> = {
  owner:       { team: { read: Y, run: Y, edit: Y,  archive: Y  }, private: { read: Y,      run: Y,      edit: Y,      archive: Y      }, locked: { read: Y, run: Y, edit: Y,  archive: Y  } },
  otherEditor: { team: { read: Y, run: Y, edit: Y,  archive: NO }, private: { read: HIDDEN, run: HIDDEN, edit: HIDDEN, archive: HIDDEN }, locked: { read: Y, run: Y, edit: NO, archive: NO } },
  viewer:      { team: { read: Y, run: Y, edit: NO, archive: NO }, private: { read: HIDDEN, run: HIDDEN, edit: HIDDEN, archive: HIDDEN }, locked: { read: Y, run: Y, edit: NO, archive: NO } },
  admin:       { team: { read: Y, run: Y, edit: Y,  archive: Y  }, private: { read: Y,      run: Y,      edit: Y,      archive: Y      }, locked: { read: Y, run: Y, edit: Y,  archive: Y  } },
};

describe('saved query permissions', () => {
  let t: TestApp;
  let people: Record<Actor, SignedIn>;
  beforeAll(async () => {
    t = await startTestApp();
    people = {
      owner: await signIn(t, 'editor', { name: 'Olivia Owner' }),
      otherEditor: await signIn(t, 'editor', { name: 'Eddie Editor' }),
      viewer: await signIn(t, 'viewer', { name: 'Vera Viewer' }),
      admin: await signIn(t, 'admin', { name: 'Ada Admin' }),
    };
  });
  afterAll(() => t?.close());

  async function makeQuery(kind: Kind): Promise<QueryBody> {
    const query = await createQuery(t, people.owner, {
      name: `${kind} query`,
      sql: 'select count(*) as n from services',
      visibility: kind === 'private' ? 'private' : 'team',
    });
    if (kind === 'locked') return expectStatus(call(t, people.owner, 'PUT', `/api/queries/${query.id}`, { locked: true }), 200);
    return query;
  }

  async function attempt(actor: Actor, action: Action, query: QueryBody): Promise<number> {
    const who = people[actor];
    switch (action) {
      case 'read':
        return (await call(t, who, 'GET', `/api/queries/${query.id}`)).statusCode;
      case 'run':
        return (await call(t, who, 'POST', '/api/runs', { queryId: query.id })).statusCode;
      case 'edit':
        return (await save(t, who, query.id, query.currentVersion, { sql: `select ${Math.random()} as edited_by_${actor}` }))
          .statusCode;
      case 'archive':
        return (await call(t, who, 'DELETE', `/api/queries/${query.id}`)).statusCode;
    }
  }

  for (const actor of Object.keys(EXPECTED) as Actor[]) {
    it(`${actor}: read / run / edit / archive on team, private and locked queries`, async () => {
      const outcomes: Record<string, Record<string, number>> = {};
      for (const kind of ['team', 'private', 'locked'] as Kind[]) {
        const query = await makeQuery(kind);
        outcomes[kind] = {};
        for (const action of ['read', 'run', 'edit', 'archive'] as Action[])
          outcomes[kind][action] = await attempt(actor, action, query);

        // What was refused left no trace; what was allowed did what it says.
        const after = await expectStatus(call(t, people.owner, 'GET', `/api/queries/${query.id}`), 200);
        expect(after.currentVersion).toBe(EXPECTED[actor][kind].edit === Y ? 2 : 1);
        expect(after.archivedAt !== null).toBe(EXPECTED[actor][kind].archive === Y);
      }
      expect(outcomes).toEqual(EXPECTED[actor]);
    });
  }

  it('answers a hidden query exactly like a missing one, on every route', async () => {
    const hidden = await makeQuery('private');
    const missing = '999999999';
    const who = people.otherEditor;
    const routes: Array<[method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown]> = [
      ['GET', ''],
      ['GET', '/versions'],
      ['GET', '/versions/1'],
      ['PUT', '', { baseVersion: 1, name: 'mine now' }],
      ['PUT', '', { visibility: 'team' }],
      ['DELETE', ''],
      ['DELETE', '', { purge: true }],
      ['POST', '/unarchive'],
      ['POST', '/fork'],
      ['POST', '/versions/1/restore', { baseVersion: 1 }],
    ];
    for (const [method, path, body] of routes) {
      const a = await call(t, who, method, `/api/queries/${hidden.id}${path}`, body);
      const b = await call(t, who, method, `/api/queries/${missing}${path}`, body);
      expect({ route: `${method} ${path}`, status: a.statusCode, code: a.json().error.code }).toEqual({
        route: `${method} ${path}`,
        status: 404,
        code: 'not_found',
      });
      expect(a.json().error.message.replace(hidden.id, 'ID')).toBe(b.json().error.message.replace(missing, 'ID'));
    }
    const run = await call(t, people.viewer, 'POST', '/api/runs', { queryId: hidden.id });
    expect(run.statusCode).toBe(404);
  });

  it('audits every refused attempt on a hidden query by id, and a missing id the same way (THREATS.md 51)', async () => {
    const hidden = await makeQuery('private');
    const missing = '888888888';
    const who = people.viewer;
    const attempts: Array<
      [method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: (id: string) => string, attempted: string, body?: unknown]
    > = [
      ['GET', (id) => `/api/queries/${id}`, 'read'],
      ['GET', (id) => `/api/queries/${id}/versions`, 'read_versions'],
      ['GET', (id) => `/api/queries/${id}/versions/1`, 'read_versions'],
      ['GET', (id) => `/api/queries/${id}/runs`, 'read'],
      ['POST', () => '/api/runs', 'run'],
      ['POST', () => '/api/runs.csv', 'run'],
      ['POST', (id) => `/api/queries/${id}/fork`, 'fork'],
      ['PUT', (id) => `/api/queries/${id}`, 'edit', { visibility: 'team' }],
      ['POST', (id) => `/api/queries/${id}/versions/1/restore`, 'edit', { baseVersion: 1 }],
      ['DELETE', (id) => `/api/queries/${id}`, 'archive'],
      ['DELETE', (id) => `/api/queries/${id}`, 'purge', { purge: true }],
    ];
    const denials = async () =>
      (
        await adminQuery(
          `select query_id, outcome, error_code, client_ip, details from audit_events
            where action = 'query.access_denied' and actor_user_id = $1 order by seq`,
          [who.user.id],
          t.tools.database,
        )
      ).rows;
    const before = (await denials()).length;
    for (const [method, url, attempted, body] of attempts) {
      const responses = [];
      for (const id of [hidden.id, missing]) {
        const runBody = url(id).startsWith('/api/runs') ? { queryId: id } : body;
        const res = await call(t, who, method, url(id), runBody);
        responses.push({ status: res.statusCode, body: res.body.replace(id, 'ID'), type: res.headers['content-type'] });
      }
      // The response cannot tell the hidden query from a missing one ...
      expect({ attempted, url: url('ID'), ...responses[0]! }).toEqual({ attempted, url: url('ID'), ...responses[1]! });
      expect(responses[0]!.status).toBe(404);
      // ... but the audit log can, for the admins who read it.
      const recorded = (await denials()).slice(-2);
      expect(recorded).toEqual([
        {
          query_id: hidden.id,
          outcome: 'denied',
          error_code: 'not_found',
          client_ip: '127.0.0.1',
          details: { attempted, exists: true },
        },
        {
          query_id: missing,
          outcome: 'denied',
          error_code: 'not_found',
          client_ip: '127.0.0.1',
          details: { attempted, exists: false },
        },
      ]);
    }
    expect((await denials()).length).toBe(before + attempts.length * 2);
    // Nothing else about the refused attempts reached the log: no run of them started or failed.
    const started = await adminQuery(
      `select count(*)::int as n from audit_events where action like 'run.%' and query_id = any($1::bigint[])`,
      [[hidden.id, missing]],
      t.tools.database,
    );
    expect(started.rows[0].n).toBe(0);
  });

  it('lists exactly the queries each person may read, and only owners and admins manage them', async () => {
    const kinds = await Promise.all((['team', 'private', 'locked'] as Kind[]).map(makeQuery));
    for (const actor of Object.keys(EXPECTED) as Actor[]) {
      const list = await expectStatus<{ queries: Array<{ id: string }> }>(
        call(t, people[actor], 'GET', '/api/queries?limit=200'),
        200,
      );
      const listed = new Set(list.queries.map((q) => q.id));
      for (const [index, kind] of (['team', 'private', 'locked'] as Kind[]).entries()) {
        expect({ actor, kind, listed: listed.has(kinds[index]!.id) }).toEqual({
          actor,
          kind,
          listed: EXPECTED[actor][kind].read === Y,
        });
      }
    }
    const [team] = kinds;
    expect((await call(t, people.otherEditor, 'PUT', `/api/queries/${team!.id}`, { locked: true })).statusCode).toBe(403);
    expect((await call(t, people.otherEditor, 'PUT', `/api/queries/${team!.id}`, { visibility: 'private' })).statusCode).toBe(
      403,
    );
    expect((await call(t, people.viewer, 'POST', `/api/queries/${team!.id}/fork`)).statusCode).toBe(403);
    expect(
      (await call(t, people.viewer, 'POST', '/api/queries', { name: 'x', sql: 'select 1', dataSource: 'main' })).statusCode,
    ).toBe(403);
    expect((await call(t, people.owner, 'DELETE', `/api/queries/${team!.id}`, { purge: true })).statusCode).toBe(403);
    const admin = await expectStatus(call(t, people.admin, 'PUT', `/api/queries/${team!.id}`, { visibility: 'private' }), 200);
    expect(admin.visibility).toBe('private');
    expect((await call(t, people.viewer, 'GET', `/api/queries/${team!.id}`)).statusCode).toBe(404);
  });
});
