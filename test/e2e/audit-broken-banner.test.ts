// The admins' red banner in Chromium (issue #16, item 4): a superuser edits an audit event, the scheduled
// verification's job runs and records system.audit_broken, and every page an admin opens carries a red
// banner linking to the audit log. Viewers and editors never see it and never ask for it.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyOnSchedule } from '../../server/audit/integrity-jobs.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { browserAvailable, launchBrowser, watchPage } from '../support/browser.js';
import { adminQuery } from '../support/databases.js';
import { startTestServer, type TestServer } from '../support/server.js';

const INTEGRITY = '/api/audit/integrity';

describe.skipIf(!browserAvailable)("the admins' banner for a broken audit chain", () => {
  let server: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
    for (let i = 0; i < 3; i++) await server.app.audit.record({ action: 'system.started', details: { i } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A page signed in as `who`, with the integrity requests it makes counted. */
  async function pageAs(who: SignedIn): Promise<{ page: Page; integrityRequests: string[]; close: () => Promise<void> }> {
    const [name, value] = who.cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    await context.addCookies([{ name, value, url: server.origin }]);
    const page = await context.newPage();
    const integrityRequests: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === INTEGRITY) integrityRequests.push(request.url());
    });
    return { page, integrityRequests, close: () => context.close() };
  }

  /** Opens a page and waits until the app shows it (the header's navigation is there). */
  async function open(page: Page, path: string): Promise<void> {
    await page.goto(`${server.origin}${path}`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
  }

  it('stays away while the chain is intact', { timeout: 60_000 }, async () => {
    const admin = await signIn(server, 'admin');
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
      server.tools.database,
    );
    const result = await verifyOnSchedule(server.app.audit, server.app.log);
    expect(result).toMatchObject({ ok: false, firstBadSeq: '2' });

    const admin = await signIn(server, 'admin', { name: 'Ada Auditor', email: 'ada@example.com' });
    const { page, close } = await pageAs(admin);
    const seen = watchPage(page, server.origin);
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
      await page.waitForURL(`${server.origin}/admin/audit`);
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
        await server.app.inject({ method: 'GET', url: INTEGRITY, headers: { cookie: (await signIn(server, 'admin')).cookie } })
      ).json(),
    ).toMatchObject({
      ok: false,
    });
    for (const role of ['viewer', 'editor'] as const) {
      const who = await signIn(server, role);
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
      // And the server refuses it to them anyway.
      const asked = await server.app.inject({ method: 'GET', url: INTEGRITY, headers: { cookie: who.cookie } });
      expect(asked.statusCode).toBe(403);
    }
  });
});
