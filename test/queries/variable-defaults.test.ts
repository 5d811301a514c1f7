// Saved defaults and relative times (issue #18, rough edges): a saved query stores default values, so a
// plain link (a run with no params) runs at once; `today-29d` / `tomorrow` stay relative in what is
// saved and sent, and become absolute values only when a run starts, in the request's time zone, with the
// absolute values in run.started (and the relative ones and the defaults used recorded beside them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveRelativeTime } from '../../server/lib/relative-time.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { auditOf } from '../engine/support.js';
import { call, createQuery, expectStatus } from './support.js';

interface RunBody {
  id: string;
  rows: unknown[][];
}

/** The value a relative time has now; a run in between may cross midnight, so both ends are allowed. */
function around(value: string, timeZone: string, kind: 'timestamp' | 'date' = 'timestamp') {
  const before = resolveRelativeTime(value, kind, { timeZone })!;
  return {
    check: (seen: unknown) => {
      const after = resolveRelativeTime(value, kind, { timeZone })!;
      expect([before, after]).toContain(seen);
    },
  };
}

describe('saved defaults and relative times', () => {
  let t: TestApp;
  let editor: SignedIn;
  let viewer: SignedIn;
  beforeAll(async () => {
    t = await startTestApp();
    [editor, viewer] = await Promise.all([signIn(t, 'editor'), signIn(t, 'viewer')]);
  });
  afterAll(() => t.close());

  const SQL =
    "select {start_time}::timestamptz as s, {end_time}::timestamptz as e, {channel}::text as c, to_char({day}::date, 'YYYY-MM-DD') as d";
  const VARIABLES = [
    { name: 'start_time', kind: 'timestamp', default: 'today-29d' },
    { name: 'end_time', default: 'tomorrow' }, // no kind: start_time/end_time are timestamps by convention
    { name: 'channel', kind: 'text', default: 'email' },
    { name: 'day', kind: 'date', default: 'today-1d' },
  ];

  it('stores defaults (relative ones as written) and runs a saved query with no params from them', async () => {
    const query = await createQuery(t, editor, { sql: SQL, variables: VARIABLES });
    expect(query.version.variables).toEqual(VARIABLES);
    const reread = await expectStatus(call(t, viewer, 'GET', `/api/queries/${query.id}`), 200);
    expect(reread.version.variables).toEqual(VARIABLES);

    const start = around('today-29d', 'Europe/Paris');
    const end = around('tomorrow', 'Europe/Paris');
    const day = around('today-1d', 'Europe/Paris', 'date');
    const run = await expectStatus<RunBody>(
      call(t, viewer, 'POST', '/api/runs', { queryId: query.id, timeZone: 'Europe/Paris' }),
      200,
    );
    const [s, e, c, d] = run.rows[0] as string[];
    // The session runs in UTC: the instants are what Paris's midnights are.
    const events = await auditOf(t, run.id);
    const started = events.find((event) => event.action === 'run.started')!;
    const params = started.params as Record<string, string>;
    start.check(params.start_time);
    end.check(params.end_time);
    day.check(params.day);
    expect(params.start_time).toMatch(/^\d{4}-\d\d-\d\dT00:00:00\+0[12]:00$/);
    expect(params.channel).toBe('email');
    expect(Date.parse(s!)).toBe(Date.parse(params.start_time!));
    expect(Date.parse(e!)).toBe(Date.parse(params.end_time!));
    expect([c, d]).toEqual(['email', params.day]);
    expect(started.details).toMatchObject({
      relativeParams: { start_time: 'today-29d', end_time: 'tomorrow', day: 'today-1d' },
      timeZone: 'Europe/Paris',
      defaultParams: ['start_time', 'end_time', 'channel', 'day'],
    });
  });

  it('takes given values over defaults, resolves relative ones given in params (UTC by default)', async () => {
    const query = await createQuery(t, editor, { sql: SQL, variables: VARIABLES });
    const start = around('this_month-1mo', 'UTC');
    const run = await expectStatus<RunBody>(
      call(t, editor, 'POST', '/api/runs', {
        queryId: query.id,
        params: { start_time: 'this_month-1mo', end_time: '2030-01-01T00:00:00Z', channel: 'sms' },
        refresh: true,
      }),
      200,
    );
    const started = (await auditOf(t, run.id)).find((event) => event.action === 'run.started')!;
    const params = started.params as Record<string, string>;
    start.check(params.start_time);
    expect(params.start_time).toMatch(/^\d{4}-\d\d-01T00:00:00Z$/);
    expect(params.end_time).toBe('2030-01-01T00:00:00Z');
    expect(params.channel).toBe('sms');
    expect(started.details).toMatchObject({
      relativeParams: { start_time: 'this_month-1mo' },
      timeZone: 'UTC',
      defaultParams: ['day'],
    });
  });

  it('resolves relative times in free SQL by the naming conventions, and leaves text variables alone', async () => {
    const start = around('today', 'America/New_York');
    const run = await expectStatus<RunBody>(
      call(t, editor, 'POST', '/api/runs', {
        dataSource: 'main',
        sql: 'select {start_time}::timestamptz as s, {created_at}::timestamptz as c, {label} as l',
        params: { start_time: 'today', created_at: 'now-6h', label: 'today' },
        timeZone: 'America/New_York',
      }),
      200,
    );
    const started = (await auditOf(t, run.id)).find((event) => event.action === 'run.started')!;
    const params = started.params as Record<string, string>;
    start.check(params.start_time);
    expect(params.start_time).toMatch(/T00:00:00-0[45]:00$/);
    expect(params.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-0[45]:00$/);
    expect(Math.abs(Date.now() - 6 * 3_600_000 - Date.parse(params.created_at!))).toBeLessThan(60_000);
    expect(params.label).toBe('today');
    expect(run.rows[0]![2]).toBe('today');
  });

  it('refuses a default that does not fit its kind, and an unknown time zone (audited)', async () => {
    const bad = [
      [{ name: 'n', kind: 'number', default: 'abc' }, /default of n must be a number/],
      [{ name: 'start_time', default: 'today+1d' }, /default of start_time must be a time like .* relative one like today-7d/],
      [{ name: 'day', kind: 'date', default: '31/01/2024' }, /default of day must be a date/],
      [{ name: 'ok', kind: 'boolean', default: 'yes' }, /must be true or false/],
      [{ name: 'ids', kind: 'number', multiple: true, default: '1, 2, x' }, /must be a number \(got "x"\)/],
    ] as const;
    for (const [variable, message] of bad) {
      const res = await call(t, editor, 'POST', '/api/queries', {
        name: 'Bad default',
        dataSource: 'main',
        sql: `select {${variable.name}}`,
        variables: [variable],
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error.message).toMatch(message);
    }
    // A list default is comma-separated.
    const list = await createQuery(t, editor, {
      sql: 'select count(*) as n from generate_series(1, 5) g where g in ({ids})',
      variables: [{ name: 'ids', kind: 'number', multiple: true, default: '1, 2,3' }],
    });
    const counted = await expectStatus<RunBody>(call(t, editor, 'POST', '/api/runs', { queryId: list.id }), 200);
    expect(counted.rows).toEqual([['3']]);

    const res = await call(t, editor, 'POST', '/api/runs', {
      dataSource: 'main',
      sql: 'select {start_time}',
      params: { start_time: 'today' },
      timeZone: 'Mars/Olympus_Mons',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/not a time zone/) });
    const refused = await t.app.toolsDb
      .selectFrom('audit_events')
      .select(['outcome', 'params'])
      .where('action', '=', 'run.failed')
      .where('error_code', '=', 'invalid_request')
      .where(({ eb, ref }) =>
        eb(eb.fn('jsonb_extract_path_text', [ref('details'), eb.val('message')]), 'like', '%not a time zone%'),
      )
      .execute();
    expect(refused).toEqual([{ outcome: 'error', params: { start_time: 'today' } }]);
  });

  it('still names a variable that has neither a value nor a default', async () => {
    const query = await createQuery(t, editor, { sql: 'select {start_time} as s, {end_time} as e' });
    const res = await call(t, editor, 'POST', '/api/runs', { queryId: query.id, params: { start_time: 'today' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'variable_missing', variable: 'end_time' });
  });
});
