// Example content for the demo, so a newcomer never lands on an empty page: eight team saved queries over
// the notification data and the "Notification service health" dashboard built from them. Created at the
// first start of the demo only (never outside demo mode), owned by the demo admin, through the same
// services as a person's saves (so each is versioned and audited), and not again once the dashboard exists.
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { upsertUser } from '../auth/users.repository.js';
import type { SessionUser } from '../auth/guards.js';
import type { Card } from '../dashboards/content.js';
import type { QueryContent } from '../queries/content.js';
import { DEMO_USERS } from './identity-provider.js';

export const DEMO_DASHBOARD_NAME = 'Notification service health';

const RANGE = 'created_at >= {start_time} and created_at < {end_time}';
// Defaults make a plain link run at once: the last 30 days, rolling (the end is exclusive: `< {end_time}`).
const RANGE_VARIABLES: QueryContent['variables'] = [
  { name: 'start_time', kind: 'timestamp', default: 'today-29d' },
  { name: 'end_time', kind: 'timestamp', default: 'tomorrow' },
];

type DemoQuery = Omit<QueryContent, 'dataSource' | 'tags' | 'description'> & { key: string; description: string };

const QUERIES: DemoQuery[] = [
  {
    key: 'channels',
    name: 'Notification channels',
    description: 'The channels notifications go out on: the options of the channel dropdown.',
    sql: 'select distinct notification_type as value, notification_type as label\nfrom notifications\norder by 1',
    variables: [],
    chart: { version: 1, type: 'none' },
  },
  {
    key: 'volume',
    name: 'Notifications per day by channel',
    description: 'Daily volume, one line per channel.',
    sql: `select date_trunc('day', created_at) as day, notification_type as channel, count(*) as notifications\nfrom notifications\nwhere ${RANGE}\ngroup by 1, 2\norder by 1, 2`,
    variables: RANGE_VARIABLES,
    chart: { version: 1, type: 'auto' },
  },
  {
    key: 'failureRate',
    name: 'Failure rate by provider',
    description: 'Share of notifications that failed, per sending provider, in percent.',
    sql: `select sent_by as provider,\n  round(100.0 * count(*) filter (where notification_status like '%failure' or notification_status = 'validation-failed') / count(*), 2) as failure_rate_pct\nfrom notifications\nwhere ${RANGE} and sent_by is not null\ngroup by 1\norder by 2 desc`,
    variables: RANGE_VARIABLES,
    chart: { version: 1, type: 'bar' },
  },
  {
    key: 'slowest',
    name: 'Slowest templates',
    description: 'Templates by average seconds from created to sent.',
    sql: `select t.name as template, round(avg(extract(epoch from n.sent_at - n.created_at))::numeric, 1) as avg_seconds_to_send, count(*) as sent\nfrom notifications n join templates t on t.id = n.template_id\nwhere n.sent_at is not null and n.created_at >= {start_time} and n.created_at < {end_time}\ngroup by 1\norder by 2 desc\nlimit 10`,
    variables: RANGE_VARIABLES,
    chart: { version: 1, type: 'bar', x: 'template', y: ['avg_seconds_to_send'] },
  },
  {
    key: 'failuresToday',
    name: 'Failures today',
    description: 'Notifications that failed since midnight (UTC).',
    sql: "select count(*) as failures_today\nfrom notifications\nwhere created_at >= date_trunc('day', now())\n  and (notification_status like '%failure' or notification_status = 'validation-failed')",
    variables: [],
    chart: { version: 1, type: 'number' },
  },
  {
    key: 'statuses',
    name: 'Notifications by status',
    description: 'How many notifications ended in each status, per channel.',
    sql: `select notification_type as channel, notification_status as status, count(*) as notifications\nfrom notifications\nwhere ${RANGE}\ngroup by 1, 2\norder by 1, 3 desc`,
    variables: RANGE_VARIABLES,
    chart: { version: 1, type: 'auto' },
  },
  {
    key: 'oneChannel',
    name: 'Daily volume of one channel',
    description: 'Pick a channel from the dropdown.',
    sql: `select date_trunc('day', created_at) as day, count(*) as notifications\nfrom notifications\nwhere notification_type = {channel} and ${RANGE}\ngroup by 1\norder by 1`,
    variables: [{ name: 'channel', kind: 'text', default: 'email' }, ...RANGE_VARIABLES],
    chart: { version: 1, type: 'auto' },
  },
  {
    key: 'busiest',
    name: 'Busiest services',
    description: 'The ten services that sent the most notifications.',
    sql: `select s.name as service, count(*) as notifications\nfrom notifications n join services s on s.id = n.service_id\nwhere n.created_at >= {start_time} and n.created_at < {end_time}\ngroup by 1\norder by 2 desc\nlimit 10`,
    variables: RANGE_VARIABLES,
    chart: { version: 1, type: 'bar' },
  },
];

/** Creates the example queries and dashboard unless the dashboard exists already (idempotent). */
export async function createDemoContent(app: FastifyInstance, issuer: string): Promise<boolean> {
  const admin = DEMO_USERS.find((user) => user.id === 'ada')!;
  // One start at a time decides (two processes on one demo directory would otherwise both create it).
  return app.toolsDb.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('porthole.demo-content'))`.execute(trx);
    const existing = await trx
      .selectFrom('dashboard_versions')
      .select('dashboard_id')
      .where('name', '=', DEMO_DASHBOARD_NAME)
      .executeTakeFirst();
    if (existing) return false;
    const row = await upsertUser(app.toolsDb, {
      issuer,
      subject: admin.id,
      email: admin.email,
      name: admin.name,
      groups: admin.groups,
      role: 'admin',
    });
    const user: SessionUser = { id: row.id, email: row.email, name: row.name, role: 'admin', groups: row.groups };
    const ids: Record<string, string> = {};
    for (const query of QUERIES) {
      const variables =
        query.key === 'oneChannel'
          ? query.variables.map((v) => (v.name === 'channel' ? { ...v, optionsQueryId: ids.channels } : v))
          : query.variables;
      const created = await app.queries.create(
        user,
        { ...query, variables, dataSource: 'main', tags: ['example', 'notifications'] },
        'team',
      );
      ids[query.key] = created.id;
    }
    const at = (id: string, key: string, display: Card['display'], x: number, y: number, w: number, h: number): Card => ({
      id,
      queryId: ids[key]!,
      queryVersion: null,
      title: null,
      display,
      x,
      y,
      w,
      h,
      variableMap: {},
    });
    await app.dashboards.create(
      user,
      {
        name: DEMO_DASHBOARD_NAME,
        description:
          'Volume, failures and speed of the notification service: an example dashboard built from the example queries.',
        variables: [
          // The Last 30 days preset, midnight to midnight: every viewer that day runs the cards with the same
          // values and shares their cached results (a range ending `now` moved on every minute).
          { name: 'start_time', kind: 'timestamp', default: 'today-29d' },
          { name: 'end_time', kind: 'timestamp', default: 'tomorrow' },
          { name: 'channel', kind: 'text', default: 'email' },
        ],
        refreshSeconds: 300,
        cacheMaxAgeSeconds: 300,
        cards: [
          at('failures-today', 'failuresToday', 'number', 0, 0, 3, 3),
          at('failure-rate', 'failureRate', 'chart', 3, 0, 4, 6),
          at('busiest', 'busiest', 'chart', 7, 0, 5, 6),
          at('volume', 'volume', 'chart', 0, 6, 7, 6),
          at('one-channel', 'oneChannel', 'chart', 7, 6, 5, 6),
          at('slowest', 'slowest', 'table', 0, 12, 6, 5),
          at('statuses', 'statuses', 'table', 6, 12, 6, 5),
        ],
      },
      'team',
    );
    return true;
  });
}
