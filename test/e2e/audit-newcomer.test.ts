// The audit page as a newcomer found it (issue #18): the "Who" filter by email narrows "Runs per day" too
// (defect 5), the outcome badge and its code stay apart and the outcome column fits a 1400 px window
// (defect 8), and the count of started runs without an outcome is shown (defect 2).
import { describe, expect, it } from 'vitest';
import { signIn } from '../support/auth.js';
import { browserAvailable, watchPage } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';

describe.skipIf(!browserAvailable)('the audit page at 1400 px (Chromium)', () => {
  const suite = serverAndBrowser();

  it(
    'filters the chart by email, keeps badge and code apart, fits the outcome, counts open runs',
    { timeout: 120_000 },
    async () => {
      const admin = await signIn(suite.server, 'admin', { email: 'ada@example.com' });
      const dev = await signIn(suite.server, 'editor', {
        email: 'a.rather.long.address.for.a.developer@notifications.example.com',
      });
      const other = await signIn(suite.server, 'editor', { email: 'other@example.com' });
      const longSql = `select ${Array.from({ length: 30 }, (_, i) => `column_number_${i}`).join(', ')} from notifications`;
      for (const who of [dev, dev, other]) {
        await suite.server.app.audit.record({
          action: 'run.started',
          actor: { id: who.user.id, email: who.user.email },
          dataSource: 'main',
          sql: longSql,
          details: { runId: crypto.randomUUID() },
        });
      }
      await suite.server.app.audit.record({
        action: 'run.failed',
        actor: { id: dev.user.id, email: dev.user.email },
        dataSource: 'main',
        sql: 'delete from notifications',
        outcome: 'denied',
        errorCode: 'statement_not_allowed',
      });

      const [name, value] = admin.cookie.split('=') as [string, string];
      const context = await suite.browser.newContext({ viewport: { width: 1400, height: 1000 } });
      await context.addCookies([{ name, value, url: suite.server.origin }]);
      const page = await context.newPage();
      const seen = watchPage(page, suite.server.origin);
      await page.goto(`${suite.server.origin}/admin/audit`);

      // Three run.started without an end (recorded by hand above): counted for the admin.
      await page
        .getByTestId('unclosed-runs')
        .getByText(/^3 started runs have no outcome yet/)
        .waitFor();

      // The outcome: "denied statement_not_allowed", not run together, and inside the table's visible area.
      const outcome = page.getByRole('row', { name: /run\.failed/ }).getByTestId('outcome');
      await outcome.waitFor();
      expect((await outcome.innerText()).trim()).toBe('denied statement_not_allowed');
      const table = page.locator('.table');
      const [cell, box] = [await outcome.boundingBox(), await table.boundingBox()];
      expect(cell!.x + cell!.width).toBeLessThanOrEqual(box!.x + box!.width);
      expect(await table.evaluate((el: { scrollWidth: number; clientWidth: number }) => el.scrollWidth <= el.clientWidth)).toBe(
        true,
      );

      // The Who filter by email: the list and the chart both narrow to that person.
      await page.getByRole('heading', { name: /Runs per day, last 30 days \(3 runs\)/ }).waitFor();
      await page.getByLabel('Who').fill(dev.user.email!);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByRole('heading', { name: /Runs per day, last 30 days \(2 runs\)/ }).waitFor();
      expect(await page.getByRole('alert').count()).toBe(0);
      await page.screenshot({ path: 'docs/newcomer-audit.png', fullPage: true });
      expect(seen.consoleErrors).toEqual([]);
      await context.close();
    },
  );
});
