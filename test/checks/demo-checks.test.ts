// The demo's two checks: made once, and both judge the demo data without an error.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedDemoChecks } from '../../server/demo/checks.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn } from '../support/auth.js';
import { adminQuery } from '../support/databases.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

it('creates two checks once, owned by the demo editor, which run on the demo data', async () => {
  expect(await seedDemoChecks(t.app, 'https://idp.test')).toBe(true);
  expect(await seedDemoChecks(t.app, 'https://idp.test')).toBe(false);
  const { rows } = await adminQuery(
    `select c.id, c.name, u.email from checks c join users u on u.id = c.owner_id order by c.id`,
    [],
    t.tools.database,
  );
  expect(rows.map((r) => `${r.name} / ${r.email}`)).toEqual([
    'Failed SMS above 20 an hour / eddie@porthole.demo',
    'Daily notification volume is unusual / eddie@porthole.demo',
  ]);
  const { user: admin } = await signIn(t, 'admin');
  for (const row of rows) {
    const outcome = await t.app.checks.runNow(admin, row.id);
    expect(['ok', 'failing'], `${row.name}: ${outcome.reason}`).toContain(outcome.state);
  }
});
