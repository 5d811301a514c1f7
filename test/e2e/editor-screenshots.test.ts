// The README's screenshots: the editor with a line chart and with a bar chart, light and dark. Runs only
// with SCREENSHOTS=1 (it writes into docs/): SCREENSHOTS=1 npx vitest run test/e2e/editor-screenshots.test.ts
import { describe, it } from 'vitest';
import { browserAvailable } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { openPage, replaceSql, runAndWait } from './editor-support.js';

const CHARTS = {
  line: `select date_trunc('week', created_at)::date as week, notification_type, count(*) as notifications
from notifications
group by 1, 2
order by 1`,
  bar: `select s.name as service, n.notification_type, count(*) as notifications
from notifications n
join services s on s.id = n.service_id
where n.service_id in (select service_id from notifications group by 1 order by count(*) desc limit 6)
group by 1, 2
order by 1, 2`,
};

describe.skipIf(!browserAvailable || process.env.SCREENSHOTS !== '1')('README screenshots', { timeout: 120_000 }, () => {
  const suite = serverAndBrowser();

  for (const colorScheme of ['light', 'dark'] as const) {
    for (const [kind, sql] of Object.entries(CHARTS)) {
      it(`${kind} chart, ${colorScheme}`, async () => {
        const editor = await openPage(suite.browser, suite.server, '/queries/new', {
          colorScheme,
          viewport: { width: 1280, height: 800 },
        });
        const { page } = editor;
        await replaceSql(page, sql);
        await runAndWait(page);
        await page.locator('[data-testid="chart"][data-status="drawn"]').waitFor();
        await page.locator('[data-testid="chart"]').scrollIntoViewIfNeeded();
        await page.screenshot({ path: `docs/editor-${kind}-${colorScheme}.png`, fullPage: true });
        await editor.close();
      });
    }
  }
});
