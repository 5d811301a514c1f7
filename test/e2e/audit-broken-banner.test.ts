// The admins' red banner in Chromium (issue #16, item 4): a superuser edits an audit event, the scheduled
// verification's job runs and records system.audit_broken, and every page an admin opens carries a red
// banner linking to the audit log. Viewers and editors never see it and never ask for it.
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyOnSchedule } from '../../server/audit/integrity-jobs.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { browserAvailable, watchPage } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { adminQuery } from '../support/databases.js';

const INTEGRITY = '/api/audit/integrity';

describe.skipIf(!browserAvailable)("the admins' banner for a broken audit chain", () => {
  const suite = serverAndBrowser();

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) await suite.server.app.audit.record({ action: 'system.started', details: { i } });
  });

  /** A page signed in as `who`, with the integrity requests it makes counted. */
  async function pageAs(who: SignedIn): Promise<{ page: Page; integrityRequests: string[]; close: () => Promise<void> }> {
    const [name, value] = who.cookie.split('=') as [string, string];
    const context = await suite.browser.newContext({ viewport: { width: 1280, height: 720 } });
    await context.addCookies([{ name, value, url: suite.server.origin }]);
    const page = await context.newPage();
    const integrityRequests: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === INTEGRITY) integrityRequests.push(request.url());
    });
    return { page, integrityRequests, close: () => context.close() };
  }

  /** Opens a page and waits until the app shows it (the header's navigation is there). */
  async function open(page: Page, path: string): Promise<void> {
    await page.goto(`${suite.server.origin}${path}`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  }

  it('stays away while the chain is intact', { timeout: 60_000 }, async () => {
    const admin = await signIn(suite.server, 'admin');
    const { page, close } = await pageAs(admin);
    try {
      const answered = page.waitForResponse((response) => new URL(response.url()).pathname === INTEGRITY);
      await open(page, '/queries');
      expect(await (await answered).json()).toEqual({ ok: true });
      expect(await page.getByTestId('audit-broken-banner').count()).toBe(0);
    } finally {
      await close();
    }
  });

  it("appears on every admin page once the scheduled verification finds a superuser's edit", { timeout: 120_000 }, async () => {
    await adminQuery(
      `begin; set local session_replication_role = replica; update audit_events set details = '{"i": 99}' where seq = 2; commit`,
      [],
      suite.server.tools.database,
    );
    const result = await verifyOnSchedule(suite.server.app.audit, suite.server.app.log);
    expect(result).toMatchObject({ ok: false, firstBadSeq: '2' });

    const admin = await signIn(suite.server, 'admin', { name: 'Ada Auditor', email: 'ada@example.com' });
    const { page, close } = await pageAs(admin);
    const seen = watchPage(page, suite.server.origin);
    try {
      const banner = page.getByTestId('audit-broken-banner');
      for (const path of ['/', '/queries', '/dashboards', '/checks', '/settings/tokens']) {
        await open(page, path);
        await banner.waitFor();
        expect(await banner.getAttribute('role')).toBe('alert');
        expect(await banner.innerText()).toMatch(/The audit log failed its integrity check\.[\s\S]*broken at event 2/);
      }
      // Red: the deep red of the stylesheet, whatever the theme.
      expect(
        await page.evaluate(`getComputedStyle(document.querySelector('[data-testid="audit-broken-banner"]')).backgroundColor`),
      ).toBe('rgb(185, 28, 28)');

      await open(page, '/queries');
      await banner.waitFor();
      await page.screenshot({ path: 'docs/audit-broken-banner.png' });
      await banner.getByRole('link', { name: 'Review the audit log' }).click();
      await page.waitForURL(`${suite.server.origin}/admin/audit`);
      await page.getByRole('heading', { name: 'Audit log' }).waitFor();
      // The audit page's own check agrees, naming the same event; the banner stays.
      await page
        .getByTestId('integrity')
        .getByText(/Broken at event 2/)
        .waitFor();
      expect(await banner.isVisible()).toBe(true);
      expect(seen.cspViolations).toEqual([]);
      expect(seen.consoleErrors).toEqual([]);
    } finally {
      await close();
    }
  });

  it('is never shown to viewers or editors, who never ask for it', { timeout: 120_000 }, async () => {
    expect(
      await (
        await suite.server.app.inject({
          method: 'GET',
          url: INTEGRITY,
          headers: { cookie: (await signIn(suite.server, 'admin')).cookie },
        })
      ).json(),
    ).toMatchObject({
      ok: false,
    });
    for (const role of ['viewer', 'editor'] as const) {
      const who = await signIn(suite.server, role);
      const { page, integrityRequests, close } = await pageAs(who);
      try {
        for (const path of ['/', '/queries', '/dashboards']) {
          await open(page, path);
          await page.getByRole('main').getByRole('heading').first().waitFor();
          expect(await page.getByTestId('audit-broken-banner').count(), `${role} on ${path}`).toBe(0);
        }
        expect(integrityRequests, role).toEqual([]);
      } finally {
        await close();
      }
      // And the suite.server refuses it to them anyway.
      const asked = await suite.server.app.inject({ method: 'GET', url: INTEGRITY, headers: { cookie: who.cookie } });
      expect(asked.statusCode).toBe(403);
    }
  });
});
