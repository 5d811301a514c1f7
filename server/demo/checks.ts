// The demo's two checks, made once on a fresh demo: "failed SMS above a threshold" every 15 minutes and
// "daily notification volume" as an anomaly with weekly seasonality, both owned by Eddie Editor (the
// same user row his demo sign-in uses). Their emails land in .porthole/outbox/.
import type { FastifyInstance } from 'fastify';
import type { SessionUser } from '../auth/guards.js';
import { upsertUser } from '../auth/users.repository.js';
import { DEMO_USERS } from './identity-provider.js';

const FAILED_SMS = `select count(*) filter (where notification_status in ('permanent-failure', 'technical-failure', 'temporary-failure'))::int as failed,
       count(*)::int as sent
  from notifications
 where notification_type = 'sms'
   and created_at > now() - interval '1 hour'`;

const DAILY_VOLUME = `select date_trunc('day', created_at) as day, count(*)::int as notifications
  from notifications
 where created_at >= date_trunc('day', now()) - interval '63 days'
   and created_at < date_trunc('day', now())
 group by 1
 order by 1`;

export async function seedDemoChecks(app: FastifyInstance, issuer: string): Promise<boolean> {
  const existing = await app.toolsDb.selectFrom('checks').select('id').limit(1).executeTakeFirst();
  if (existing) return false;
  const eddie = DEMO_USERS.find((u) => u.id === 'eddie')!;
  const row = await upsertUser(app.toolsDb, {
    issuer,
    subject: eddie.id,
    email: eddie.email,
    name: eddie.name,
    groups: eddie.groups,
    role: 'editor',
  });
  const owner: SessionUser = { id: row.id, email: row.email, name: row.name, role: row.role, groups: row.groups };
  const content = (name: string, description: string, sql: string) => ({
    name,
    description,
    tags: ['checks'],
    dataSource: 'main',
    sql,
    variables: [],
    chart: null,
  });
  const failed = await app.queries.create(owner, content('Failed SMS in the last hour', 'Watched by a demo check.', FAILED_SMS));
  const volume = await app.queries.create(owner, content('Daily notification volume', 'Watched by a demo check.', DAILY_VOLUME));
  await app.checks.create(owner, {
    queryId: failed.id,
    name: 'Failed SMS above 20 an hour',
    schedule: { every: '15m' },
    condition: { kind: 'threshold', column: 'failed', op: '>', value: 20 },
    emails: ['oncall@porthole.demo'],
    remindEveryHours: 4,
  });
  await app.checks.create(owner, {
    queryId: volume.id,
    name: 'Daily notification volume is unusual',
    schedule: { cron: '0 7 * * *', timeZone: 'Europe/London' },
    condition: { kind: 'anomaly', column: 'notifications', timeColumn: 'day', k: 3, seasonality: 'weekly' },
    emails: ['oncall@porthole.demo'],
  });
  return true;
}
