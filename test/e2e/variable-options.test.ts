// A variable whose dropdown is filled by a saved "options" query (issue #6 item 4), end to end.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { signIn } from '../support/auth.js';
import { browserAvailable, watchPage } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';

describe.skipIf(!browserAvailable)('variables from an options query (Chromium)', () => {
  const suite = serverAndBrowser();

  it(
    'offers the options query rows as a dropdown, mirrors the choice in the URL and runs with it',
    { timeout: 60_000 },
    async () => {
      const owner = await signIn(suite.server, 'editor');
      const headers = { cookie: owner.cookie, 'content-type': 'application/json', origin: suite.server.origin };
      const save = async (body: unknown) => {
        const res = await fetch(`${suite.server.origin}/api/queries`, { method: 'POST', headers, body: JSON.stringify(body) });
        expect(res.status).toBe(201);
        return ((await res.json()) as { id: string }).id;
      };
      const optionsId = await save({
        name: 'Service choices',
        sql: 'select id as value, name as label from services order by name',
        dataSource: 'main',
      });
      const queryId = await save({
        name: 'Notifications of one service',
        sql: 'select count(*) as sent from notifications where service_id = {service_id}',
        dataSource: 'main',
        variables: [{ name: 'service_id', kind: 'number', optionsQueryId: optionsId }],
      });
      const services = await suite.server.app.dataSources
        .get('main')!
        .pool.query<{ id: number; name: string; sent: string }>(
          `select s.id, s.name, (select count(*) from notifications n where n.service_id = s.id)::text as sent from services s where s.name = 'Report a pothole'`,
        );
      const pothole = services.rows[0]!;

      const [name, value] = owner.cookie.split('=') as [string, string];
      const context = await suite.browser.newContext();
      await context.addCookies([{ name, value, url: suite.server.origin }]);
      const page = await context.newPage();
      context.setDefaultTimeout(30_000);
      const seen = watchPage(page, suite.server.origin);
      await page.goto(`${suite.server.origin}/queries/${queryId}`);
      const dropdown = page.getByTestId('variables').locator('select[name="service_id"]');
      await dropdown.waitFor({ timeout: 15_000 });
      expect(await dropdown.locator('option').allTextContents()).toEqual(
        expect.arrayContaining(['Report a pothole', 'Apply for a passport']),
      );
      await dropdown.selectOption({ label: 'Report a pothole' });
      await page.waitForURL(new RegExp(`service_id=${pothole.id}`));
      await page.getByTestId('run').click();
      await page.getByRole('main').getByText(Number(pothole.sent).toLocaleString('en-US')).first().waitFor({ timeout: 15_000 });
      // The same run as a file: the saved query's SQL with the chosen value.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-csv').click()]);
      expect(await readFile((await download.path())!, 'utf8')).toBe(`sent\n${pothole.sent}\n`);
      expect(seen.cspViolations).toEqual([]);
      await context.close();
    },
  );
});
