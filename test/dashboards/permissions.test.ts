// Who may do what with a dashboard, as a table (the same rules as saved queries): four people x team /
// private / locked / archived x read / edit / archive, each cell through the real API. A private
// dashboard is a 404 for anyone who may not see it, admins see everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { call, createQuery, expectStatus } from '../queries/support.js';
import { card, createDashboard, type DashboardBody } from './support.js';

type Actor = 'owner' | 'otherEditor' | 'viewer' | 'admin';
type Kind = 'team' | 'private' | 'locked' | 'archived';
type Action = 'read' | 'edit' | 'archive' | 'list';

const Y = 200;
const NO = 403;
const HIDDEN = 404;
const ARCHIVED = 409;

// prettier-ignore
const EXPECTED: Record<Actor, Record<Kind, Record<Action, number>>> = {
  owner:       { team: { read: Y, edit: Y,  archive: Y,  list: Y }, private: { read: Y,      edit: Y,      archive: Y,      list: Y      }, locked: { read: Y, edit: Y,  archive: Y,  list: Y }, archived: { read: Y, edit: ARCHIVED, archive: Y,  list: Y } },
  otherEditor: { team: { read: Y, edit: Y,  archive: NO, list: Y }, private: { read: HIDDEN, edit: HIDDEN, archive: HIDDEN, list: HIDDEN }, locked: { read: Y, edit: NO, archive: NO, list: Y }, archived: { read: Y, edit: ARCHIVED, archive: NO, list: Y } },
  viewer:      { team: { read: Y, edit: NO, archive: NO, list: Y }, private: { read: HIDDEN, edit: HIDDEN, archive: HIDDEN, list: HIDDEN }, locked: { read: Y, edit: NO, archive: NO, list: Y }, archived: { read: Y, edit: NO,       archive: NO, list: Y } },
  admin:       { team: { read: Y, edit: Y,  archive: Y,  list: Y }, private: { read: Y,      edit: Y,      archive: Y,      list: Y      }, locked: { read: Y, edit: Y,  archive: Y,  list: Y }, archived: { read: Y, edit: ARCHIVED, archive: Y,  list: Y } },
};

describe('dashboard permissions', () => {
  let t: TestApp;
  let people: Record<Actor, SignedIn>;
  let queryId: string;
  beforeAll(async () => {
    t = await startTestApp();
    people = {
      owner: await signIn(t, 'editor', { name: 'Olivia Owner' }),
      otherEditor: await signIn(t, 'editor', { name: 'Eddie Editor' }),
      viewer: await signIn(t, 'viewer', { name: 'Vera Viewer' }),
      admin: await signIn(t, 'admin', { name: 'Ada Admin' }),
    };
    queryId = (await createQuery(t, people.owner, { name: 'Services', sql: 'select count(*) as n from services' })).id;
  });
  afterAll(() => t?.close());

  async function make(kind: Kind): Promise<DashboardBody> {
    const made = await createDashboard(t, people.owner, {
      name: `${kind} dashboard ${Math.random().toString(36).slice(2, 8)}`,
      visibility: kind === 'private' ? 'private' : 'team',
      cards: [card('a', queryId)],
    });
    if (kind === 'locked') return expectStatus(call(t, people.owner, 'PUT', `/api/dashboards/${made.id}`, { locked: true }), 200);
    if (kind === 'archived') return expectStatus(call(t, people.owner, 'DELETE', `/api/dashboards/${made.id}`), 200);
    return made;
  }

  async function attempt(actor: Actor, action: Action, dashboard: DashboardBody): Promise<number> {
    const who = people[actor];
    switch (action) {
      case 'read':
        return (await call(t, who, 'GET', `/api/dashboards/${dashboard.id}`)).statusCode;
      case 'edit':
        return (
          await call(t, who, 'PUT', `/api/dashboards/${dashboard.id}`, {
            baseVersion: dashboard.currentVersion,
            description: `edited by ${actor} ${Math.random()}`,
          })
        ).statusCode;
      case 'archive':
        return (await call(t, who, 'DELETE', `/api/dashboards/${dashboard.id}`)).statusCode;
      case 'list': {
        const archived = dashboard.archivedAt !== null;
        const res = await call(t, who, 'GET', `/api/dashboards?limit=200${archived ? '&archived=true' : ''}`);
        const ids = (res.json() as { dashboards: Array<{ id: string }> }).dashboards.map((d) => d.id);
        return ids.includes(dashboard.id) ? Y : HIDDEN;
      }
    }
  }

  for (const actor of Object.keys(EXPECTED) as Actor[]) {
    for (const kind of ['team', 'private', 'locked', 'archived'] as Kind[]) {
      it(`${actor} on a ${kind} dashboard`, async () => {
        const got: Record<string, number> = {};
        for (const action of ['list', 'read', 'edit', 'archive'] as Action[])
          got[action] = await attempt(actor, action, await make(kind));
        expect(got).toEqual(EXPECTED[actor][kind]);
      });
    }
  }

  it('lets viewers neither create nor fork, and only admins purge an archived dashboard', async () => {
    expect((await call(t, people.viewer, 'POST', '/api/dashboards', { name: 'nope' })).statusCode).toBe(403);
    const team = await make('team');
    expect((await call(t, people.viewer, 'POST', `/api/dashboards/${team.id}/fork`, {})).statusCode).toBe(403);
    const archived = await make('archived');
    expect((await call(t, people.owner, 'DELETE', `/api/dashboards/${archived.id}`, { purge: true })).statusCode).toBe(403);
    expect((await call(t, people.admin, 'DELETE', `/api/dashboards/${team.id}`, { purge: true })).statusCode).toBe(409);
    expect((await call(t, people.admin, 'DELETE', `/api/dashboards/${archived.id}`, { purge: true })).statusCode).toBe(204);
    expect((await call(t, people.admin, 'GET', `/api/dashboards/${archived.id}`)).statusCode).toBe(404);
    const unarchived = await call(t, people.owner, 'POST', `/api/dashboards/${(await make('archived')).id}/unarchive`, {});
    expect(unarchived.statusCode).toBe(200);
    expect(unarchived.json().archivedAt).toBeNull();
  });

  it('runs a card only for a reader of the dashboard, and only for a query on it', async () => {
    const priv = await make('private');
    const run = (who: SignedIn, dashboardId: string, qid = queryId) =>
      call(t, who, 'POST', '/api/runs', { queryId: qid, dashboardId });
    expect((await run(people.viewer, priv.id)).statusCode).toBe(404);
    expect((await run(people.owner, priv.id)).statusCode).toBe(200);
    const other = await createQuery(t, people.owner, { name: 'Not on it' });
    const notOnIt = await run(people.owner, priv.id, other.id);
    expect(notOnIt.statusCode).toBe(400);
    expect(notOnIt.json().error.code).toBe('not_on_dashboard');
  });
});
