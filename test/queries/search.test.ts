// Search and lists: ranked full text + trigram over name, tags, description, SQL and owner; the Mine /
// Recently viewed / All / tag filters; recent activity first; private queries never listed for others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { listQueries } from '../../server/queries/search.repository.js';
import { adminQuery } from '../support/databases.js';
import { call, createQuery, expectStatus, save } from './support.js';

interface Listed {
  id: string;
  name: string;
  rank: number | null;
  tags: string[];
}
interface ListBody {
  queries: Listed[];
  hasMore: boolean;
  tags?: Array<{ tag: string; count: number }>;
}

describe('saved query search', () => {
  let t: TestApp;
  let alice: SignedIn;
  let bob: SignedIn;
  const ids: Record<string, string> = {};

  const list = (who: SignedIn, query: string) => expectStatus<ListBody>(call(t, who, 'GET', `/api/queries?${query}`), 200);
  const names = async (who: SignedIn, query: string) => (await list(who, query)).queries.map((q) => q.name);

  beforeAll(async () => {
    t = await startTestApp();
    alice = await signIn(t, 'editor', { name: 'Alice Analyst', email: 'alice@example.com' });
    bob = await signIn(t, 'editor', { name: 'Fiona Failsworth', email: 'fiona@example.com' });
    const make = async (who: SignedIn, key: string, fields: Parameters<typeof createQuery>[2]) => {
      ids[key] = (await createQuery(t, who, fields)).id;
    };
    // Created oldest first; each mentions "failed notifications" in a different field.
    await make(alice, 'sql', { name: 'Status breakdown', sql: "select * from notifications where status = 'failed'" });
    await make(alice, 'description', {
      name: 'Weekly review',
      description: 'Which notifications failed, per week',
      sql: 'select 1',
    });
    await make(alice, 'tags', { name: 'Delivery problems', tags: ['failed', 'notifications'], sql: 'select 2' });
    await make(alice, 'name', { name: 'Failed notifications by service', sql: 'select 3' });
    await make(bob, 'owner', { name: 'Template usage', sql: 'select 4' });
    await make(bob, 'private', { name: 'Failed notifications (private draft)', sql: 'select 5', visibility: 'private' });
    await make(alice, 'unrelated', { name: 'Signups per day', tags: ['growth'], sql: 'select count(*) from users' });
  });
  afterAll(() => t?.close());

  it('ranks a match in the name above tags, description and SQL, and never shows others their private queries', async () => {
    const ranked = (await list(alice, 'q=failed%20notifications')).queries;
    expect(ranked.map((q) => q.name)).toEqual([
      'Failed notifications by service',
      'Delivery problems',
      'Weekly review',
      'Status breakdown',
    ]);
    expect(ranked.every((q, i) => i === 0 || q.rank! <= ranked[i - 1]!.rank!)).toBe(true);
    // Bob sees his own private draft; Alice never does.
    expect(await names(bob, 'q=failed%20notifications')).toContain('Failed notifications (private draft)');
  });

  it('finds by owner, partial words and typos, and treats search syntax and wildcards as text', async () => {
    expect(await names(alice, 'q=Failsworth')).toEqual(['Template usage']);
    expect(await names(alice, 'q=notif')).toContain('Failed notifications by service');
    expect((await names(alice, 'q=notifcations'))[0]).toBe('Failed notifications by service'); // typo: trigram similarity
    expect(await names(alice, 'q=signups%20-growth')).toEqual([]); // websearch syntax: minus excludes
    expect(await names(alice, 'q=%25')).toEqual([]); // a literal %, not a wildcard
    expect(await names(alice, `q=${encodeURIComponent("'); drop table queries; --")}`)).toEqual([]);
    expect(await adminQuery(`select extname from pg_extension where extname = 'pg_trgm'`, [], t.tools.database)).toMatchObject({
      rowCount: 1,
    });
  });

  it('still finds words and substrings without pg_trgm (the fallback when the extension cannot be created)', async () => {
    const search = async (text: string) =>
      (
        await listQueries(t.app.toolsDb, {
          viewer: { id: alice.user.id, admin: false },
          filter: 'all',
          search: text,
          archived: false,
          limit: 50,
          offset: 0,
          trigram: false,
        })
      ).queries.map((q) => q.name);
    expect((await search('failed notifications'))[0]).toBe('Failed notifications by service');
    expect(await search('notif')).toContain('Failed notifications by service');
    expect(await search('notifcations')).toEqual([]);
  });

  it('filters Mine, Recently viewed and by tag; lists by recent activity', async () => {
    expect(await names(bob, 'filter=mine')).toEqual(['Failed notifications (private draft)', 'Template usage']);
    const byTag = await list(alice, 'tag=growth');
    expect(byTag.queries.map((q) => q.name)).toEqual(['Signups per day']);
    expect(byTag.tags).toEqual(
      expect.arrayContaining([
        { tag: 'failed', count: 1 },
        { tag: 'growth', count: 1 },
      ]),
    );

    // Editing an old query moves it to the top of the list.
    const all = await names(alice, '');
    expect(all[0]).toBe('Signups per day');
    await expectStatus(save(t, alice, ids.sql!, 1, { description: 'edited' }), 200);
    expect((await names(alice, ''))[0]).toBe('Status breakdown');

    // Recently viewed: by the viewer's last visit, not the query's activity.
    const carol = await signIn(t, 'viewer');
    expect(await names(carol, 'filter=recent')).toEqual([]);
    await call(t, carol, 'GET', `/api/queries/${ids.tags}`);
    await call(t, carol, 'GET', `/api/queries/${ids.description}`);
    await adminQuery(
      `update query_views set viewed_at = now() - interval '1 hour' where query_id = $1`,
      [ids.description],
      t.tools.database,
    );
    expect(await names(carol, 'filter=recent')).toEqual(['Delivery problems', 'Weekly review']);
    await call(t, carol, 'GET', `/api/queries/${ids.description}`);
    expect(await names(carol, 'filter=recent')).toEqual(['Weekly review', 'Delivery problems']);

    const page = await list(alice, 'limit=2');
    expect(page.queries).toHaveLength(2);
    expect(page.hasMore).toBe(true);
    expect((await list(alice, 'limit=2&offset=2')).tags).toBeUndefined();
  });
});
