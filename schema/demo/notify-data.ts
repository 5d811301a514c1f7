// The demo main database: a notification service (services, users, templates, jobs, notifications),
// generated deterministically in SQL. Every value comes from hashint8 of the row number, so two seeds
// with the same anchor day hold the same rows; timestamps end at the anchor so the data looks current.
import type pg from 'pg';

export interface DemoSeedOptions {
  notifications: number;
  /** The newest moment covered; the data spans the 180 days before it. */
  anchor: Date;
}

const SERVICES = [
  'Apply for a passport',
  'Renew a driving licence',
  'Register to vote',
  'Book a vaccination',
  'Pay council tax',
  'Report a pothole',
  'Check your pension',
  'Claim child benefit',
  'Apply for a fishing licence',
  'School admissions',
  'Blue badge applications',
  'Planning applications',
  'Bin collection reminders',
  'Court hearing notices',
  'Visa appointments',
  'Student finance',
  'Jury summons',
  'Flood warnings',
  'Tax return reminders',
  'Hospital appointments',
  'GP surgery reminders',
  'Library loans',
  'Parking permits',
  'Housing benefit',
  'Business rates',
  'Food hygiene inspections',
  'Energy grant scheme',
  'Apprenticeship service',
  'Veterans support',
  'Prison visits',
  'Lasting power of attorney',
  'Companies register',
  'Land registry updates',
  'Coastguard alerts',
  'Fire safety checks',
  'Social care reviews',
  'Citizenship ceremonies',
  'Marriage notices',
  'Dog licence renewals',
  'Air quality alerts',
];
const ORGANISATIONS = [
  'Home Office',
  'Transport Agency',
  'Electoral Commission',
  'Health Service',
  'City Council',
  'County Council',
  'Pensions Service',
  'Revenue Agency',
  'Environment Agency',
  'Department for Education',
];
const FIRST = [
  'Alex',
  'Sam',
  'Jordan',
  'Priya',
  'Chen',
  'Fatima',
  'Liam',
  'Olivia',
  'Noah',
  'Aisha',
  'Mateo',
  'Sofia',
  'Yuki',
  'Kwame',
  'Elena',
  'Omar',
  'Grace',
  'Ivan',
  'Zara',
  'Tom',
];
const LAST = [
  'Smith',
  'Patel',
  'Nguyen',
  'Garcia',
  'Okafor',
  'Kowalski',
  'Murphy',
  'Silva',
  'Khan',
  'Jones',
  'Tanaka',
  'Dubois',
  'Rossi',
  'Cohen',
  'Larsen',
];

const TEMPLATES_PER_SERVICE = 6;
const JOBS_PER_SERVICE = 20;
const USERS = 300;

const sqlArray = (items: string[]) => `array[${items.map((s) => `'${s.replace(/'/g, "''")}'`).join(',')}]`;

const SCHEMA_SQL = `
create table services (
  id integer primary key, name text not null unique, organisation text not null,
  organisation_type text not null, active boolean not null, restricted boolean not null,
  message_limit integer not null, rate_limit integer not null, created_at timestamptz not null,
  go_live_at timestamptz
);
create table users (
  id integer primary key, name text not null, email_address text not null unique, mobile_number text,
  platform_admin boolean not null, state text not null, auth_type text not null,
  created_at timestamptz not null, logged_in_at timestamptz
);
create table user_to_service (
  user_id integer not null references users (id), service_id integer not null references services (id),
  primary key (user_id, service_id)
);
create table templates (
  id integer primary key, service_id integer not null references services (id), name text not null,
  template_type text not null, subject text, content text not null, version integer not null,
  archived boolean not null, created_at timestamptz not null, updated_at timestamptz
);
create table jobs (
  id integer primary key, service_id integer not null references services (id),
  template_id integer not null references templates (id), original_file_name text not null,
  notification_count integer not null default 0, job_status text not null, created_by_id integer references users (id),
  created_at timestamptz not null, processing_started timestamptz, processing_finished timestamptz
);
create table notifications (
  id bigint primary key, service_id integer not null, template_id integer not null, job_id integer,
  notification_type text not null, notification_status text not null, "to" text not null,
  key_type text not null, sent_by text, billable_units integer not null, rate_multiplier numeric(4,2),
  client_reference text, created_at timestamptz not null, sent_at timestamptz, updated_at timestamptz
);
create table demo_meta (key text primary key, value text not null);
`;

// rnd(n, salt): a deterministic number in [0, 1) for row n.
const RND = `create function pg_temp.rnd(n bigint, salt integer) returns float8 language sql immutable as
  $$ select (hashint8(n * 7919 + salt)::float8 + 2147483648) / 4294967296 $$`;

function dataSql(options: DemoSeedOptions): string[] {
  const anchor = `'${options.anchor.toISOString()}'::timestamptz`;
  const start = `(${anchor} - interval '180 days')`;
  return [
    `insert into services
     select i, (${sqlArray(SERVICES)})[i], (${sqlArray(ORGANISATIONS)})[1 + (i * 7) % ${ORGANISATIONS.length}],
       (array['central','local','nhs'])[1 + i % 3], i % 13 <> 0, i % 11 = 0,
       (array[1000, 25000, 250000])[1 + i % 3], 3000, ${start} - (400 + i * 9) * interval '1 day',
       case when i % 11 = 0 then null else ${start} - (300 + i * 5) * interval '1 day' end
     from generate_series(1, ${SERVICES.length}) i`,
    `insert into users
     select i, (${sqlArray(FIRST)})[1 + i % ${FIRST.length}] || ' ' || (${sqlArray(LAST)})[1 + (i / ${FIRST.length}) % ${LAST.length}],
       'user' || i || '@example.gov', case when i % 3 = 0 then null else '+1 555 01' || lpad((i % 100)::text, 2, '0') end,
       i <= 5, (array['active','active','active','active','pending','inactive'])[1 + i % 6],
       (array['email_auth','sms_auth'])[1 + i % 2], ${start} - (pg_temp.rnd(i, 1) * 700) * interval '1 day',
       ${anchor} - (pg_temp.rnd(i, 2) * 60) * interval '1 day'
     from generate_series(1, ${USERS}) i`,
    `insert into user_to_service
     select distinct 1 + (pg_temp.rnd(k, 3) * ${USERS})::int % ${USERS}, 1 + k % ${SERVICES.length}
     from generate_series(1, ${USERS * 3}) k`,
    `insert into templates
     select t, 1 + (t - 1) / ${TEMPLATES_PER_SERVICE}, kind || ' ' || (array['confirmation','reminder','status update','receipt','letter','final notice'])[slot + 1],
       kind, case when kind = 'sms' then null else (array['Your application','Reminder','Status update','Receipt','Your letter','Final notice'])[slot + 1] end,
       'Hello ((name)), this is a ' || kind || ' from the service. Reference: ((reference)).',
       1 + (pg_temp.rnd(t, 4) * 9)::int, slot = 5 and t % 4 = 0,
       ${start} - (pg_temp.rnd(t, 5) * 300) * interval '1 day', ${start} + (pg_temp.rnd(t, 6) * 170) * interval '1 day'
     from generate_series(1, ${SERVICES.length * TEMPLATES_PER_SERVICE}) t,
       lateral (select (t - 1) % ${TEMPLATES_PER_SERVICE} as slot) s,
       lateral (select (array['email','email','sms','sms','letter','email'])[s.slot + 1] as kind) k`,
    `insert into jobs
     select j, 1 + (j - 1) / ${JOBS_PER_SERVICE}, (1 + (j - 1) / ${JOBS_PER_SERVICE} - 1) * ${TEMPLATES_PER_SERVICE} + 1 + (j % 4),
       'batch-' || lpad(j::text, 5, '0') || '.csv', 0,
       (array['finished','finished','finished','finished','finished','finished','finished','in progress','cancelled','error'])[1 + (pg_temp.rnd(j, 7) * 10)::int % 10],
       1 + (pg_temp.rnd(j, 8) * ${USERS})::int % ${USERS}, created, created + interval '2 minutes', created + interval '40 minutes'
     from generate_series(1, ${SERVICES.length * JOBS_PER_SERVICE}) j,
       lateral (select ${start} + pg_temp.rnd(j, 9) * interval '179 days' as created) c`,
    // Volume grows over the period (sqrt), peaks in office hours and dips at weekends; services are Zipf-ish.
    `insert into notifications
     select n, svc, tpl, case when r_job < 0.35 then (svc - 1) * ${JOBS_PER_SERVICE} + 1 + (r_job * 1000)::int % ${JOBS_PER_SERVICE} end,
       kind, status,
       case kind when 'email' then 'recipient' || (n * 37 % 99991) || '@example.org'
                 when 'sms' then '+1 555 ' || lpad((n * 53 % 9999991)::text, 7, '0')
                 else 'Flat ' || (n % 90 + 1) || ', ' || (n * 13 % 300 + 1) || ' High Street' end,
       case when r_key < 0.95 then 'normal' when r_key < 0.99 then 'team' else 'test' end,
       case when status in ('created', 'technical-failure') then null
            when kind = 'email' then 'ses' when kind = 'sms' then (case when n % 3 = 0 then 'pinpoint' else 'sns' end) else 'dvla' end,
       case kind when 'sms' then 1 + (n % 7 = 0)::int + (n % 31 = 0)::int when 'letter' then 1 + (n % 5 = 0)::int else 0 end,
       case kind when 'sms' then 1.00 when 'letter' then 0.55 else null end,
       case when n % 4 = 0 then 'ref-' || to_hex(hashint8(n)::bigint & x'7fffffff'::bigint) end,
       created,
       case when status in ('created', 'technical-failure') then null else created + (1 + r_delay * 20) * interval '1 second' end,
       created + (5 + r_delay * 600) * interval '1 second'
     from generate_series(1, ${options.notifications}) n,
       lateral (select pg_temp.rnd(n, 10) r_day, pg_temp.rnd(n, 11) r_hour, pg_temp.rnd(n, 12) r_svc, pg_temp.rnd(n, 13) r_tpl,
                       pg_temp.rnd(n, 14) r_status, pg_temp.rnd(n, 15) r_job, pg_temp.rnd(n, 16) r_key, pg_temp.rnd(n, 17) r_delay,
                       pg_temp.rnd(n, 18) r_minute) r,
       lateral (select 1 + floor(${SERVICES.length} * r_svc * r_svc)::int as svc) s,
       lateral (select (svc - 1) * ${TEMPLATES_PER_SERVICE} + 1 + floor(r_tpl * ${TEMPLATES_PER_SERVICE})::int as tpl) t,
       lateral (select (array['email','email','sms','sms','letter','email'])[(tpl - 1) % ${TEMPLATES_PER_SERVICE} + 1] as kind) k,
       lateral (select ${start} + floor(180 * sqrt(r_day)) * interval '1 day'
                  + (case when r_hour < 0.8 then 8 + r_hour * 12.5 else (r_hour - 0.8) * 120 end) * interval '1 hour'
                  + r_minute * interval '1 hour' as raw_created) c0,
       lateral (select case when raw_created > ${anchor} then raw_created - interval '1 day' else raw_created end as in_range) c1,
       -- Most weekend traffic moves to the following Monday and Tuesday (or the week before, at the end).
       lateral (select case when extract(isodow from in_range) < 6 or r_minute >= 0.6 then in_range
                            when in_range + interval '2 days' <= ${anchor} then in_range + interval '2 days'
                            else in_range - interval '5 days' end as created) c,
       lateral (select case
           when created > ${anchor} - interval '20 minutes' then (case when r_status < 0.5 then 'created' else 'sending' end)
           when kind = 'email' then (case when r_status < 0.90 then 'delivered' when r_status < 0.94 then 'permanent-failure'
                                          when r_status < 0.97 then 'temporary-failure' when r_status < 0.99 then 'sending' else 'technical-failure' end)
           when kind = 'sms' then (case when r_status < 0.84 then 'delivered' when r_status < 0.92 then 'sent'
                                        when r_status < 0.96 then 'temporary-failure' when r_status < 0.99 then 'permanent-failure' else 'technical-failure' end)
           else (case when r_status < 0.93 then 'delivered' when r_status < 0.98 then 'sending' else 'validation-failed' end)
         end as status) st`,
    `update jobs set notification_count = c.total from
       (select job_id, count(*) total from notifications where job_id is not null group by job_id) c where c.job_id = jobs.id`,
    `create index notifications_created_at on notifications (created_at)`,
    `create index notifications_service_created on notifications (service_id, created_at)`,
    `create index notifications_status on notifications (notification_status)`,
    `create index notifications_template on notifications (template_id)`,
    `create index notifications_job on notifications (job_id) where job_id is not null`,
    `create index templates_service on templates (service_id)`,
    `create index jobs_service on jobs (service_id)`,
    `insert into demo_meta values ('anchor', '${options.anchor.toISOString()}'), ('notifications', '${options.notifications}')`,
    `analyze`,
  ];
}

/** Creates and fills the demo tables in an empty database (as its owner). */
export async function seedNotifyDemo(client: pg.ClientBase, options: DemoSeedOptions): Promise<void> {
  await client.query('begin');
  try {
    // Bulk load: no need to wait for the WAL flush per statement, and room for the index builds.
    await client.query(`set local synchronous_commit = off`);
    await client.query(`set local maintenance_work_mem = '256MB'`);
    await client.query(SCHEMA_SQL);
    await client.query(RND);
    for (const statement of dataSql(options)) {
      if (statement === 'analyze') continue;
      await client.query(statement);
    }
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
  await client.query('analyze');
}
