// Dashboards in Chromium, beyond building one (dashboards.test.ts): a card's settings (its query pinned
// to a version or following the latest, its variables taken from differently named dashboard variables),
// the history with restore, sharing (private, locked), fork and archive, and auto-refresh driven by the
// browser's clock (Playwright's fake clock: the page's own timers fire when the test moves time on).
// With SCREENSHOTS=1 it also writes docs/dashboard-card-edit.png and docs/dashboard-history.png.
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { signIn, type SignedIn } from '../support/auth.js';
import { browserAvailable } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { call, createQuery, expectStatus } from '../queries/support.js';
import { card, createDashboard, type DashboardBody } from '../dashboards/support.js';
import { expectCleanPage, openPage } from './editor-support.js';

const SCREENSHOTS = process.env.SCREENSHOTS === '1';
const allDrawn = (page: Page) => page.locator('[data-testid="dashboard"][data-all-drawn="true"]').waitFor({ timeout: 60_000 });
const RANGE = [
  { name: 'start_time', kind: 'timestamp', default: '2000-01-01T00:00Z' },
  { name: 'end_time', kind: 'timestamp', default: '2100-01-01T00:00Z' },
];

describe.skipIf(!browserAvailable)('managing dashboards (Chromium)', { timeout: 180_000 }, () => {
  const suite = serverAndBrowser();
  let owner: SignedIn;
  beforeAll(async () => {
    owner = await signIn(suite.server, 'editor', { name: 'Olive Owner' });
  });

  const getDashboard = (who: SignedIn, id: string) => call(suite.server, who, 'GET', `/api/dashboards/${id}`);
  const runTotal = async (queryId: string, version: number) => {
    const run = await expectStatus<{ rows: Array<[string | number]> }>(
      call(suite.server, owner, 'POST', '/api/runs', {
        queryId,
        queryVersion: version,
        // The same instants as the dashboard's defaults, written differently: not the cards' cache entries.
        params: { since: '2000-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z' },
      }),
      200,
    );
    return Number(run.rows[0]![0]);
  };

  it("pins a card to a version of its query and maps the query's variables to the dashboard's", async () => {
    const query = await createQuery(suite.server, owner, {
      name: 'Notifications between',
      sql: 'select count(*) as total from notifications where created_at >= {since} and created_at < {until}',
      variables: [
        { name: 'since', kind: 'timestamp' },
        { name: 'until', kind: 'timestamp' },
      ],
    });
    // Version 2 counts in thousandths: the card shows which version ran.
    await expectStatus(
      call(suite.server, owner, 'PUT', `/api/queries/${query.id}`, {
        baseVersion: 1,
        sql: 'select count(*) * 1000 as total from notifications where created_at >= {since} and created_at < {until}',
      }),
      200,
    );
    const [v1Total, v2Total] = [await runTotal(query.id, 1), await runTotal(query.id, 2)];
    expect(v1Total).toBeGreaterThan(0);
    expect(v2Total).toBe(v1Total * 1000);
    const dashboard = await createDashboard(suite.server, owner, {
      name: 'Pinned board',
      variables: RANGE,
      cards: [card('c1', query.id, { display: 'number', w: 6, h: 3 })],
    });

    const editor = await openPage(suite.browser, suite.server, dashboard.url, {
      as: owner,
      viewport: { width: 1280, height: 900 },
    });
    const { page } = editor;
    const theCard = page.locator('[data-testid="dashboard-card"][data-card="c1"]');
    // Nothing maps since/until yet: the dashboard has start_time/end_time, so the card says what is missing.
    await allDrawn(page);
    await expect(theCard.getAttribute('data-status')).resolves.toBe('error');
    await expect(theCard.getByRole('alert').textContent()).resolves.toMatch(/since/);

    await page.getByRole('button', { name: 'Edit' }).click();
    await theCard.getByRole('button', { name: 'Settings of Notifications between' }).click();
    const settings = page.locator('[data-testid="card-settings"]');
    const applySettings = page
      .getByRole('dialog', { name: 'Card: Notifications between' })
      .getByRole('button', { name: 'Apply' });
    await settings.getByLabel('Query version').selectOption('1');
    await settings.getByLabel('Value of since').selectOption('start_time');
    await settings.getByLabel('Value of until').selectOption('end_time');
    if (SCREENSHOTS) await page.screenshot({ path: 'docs/dashboard-card-edit.png' });
    await applySettings.click();
    await page.locator('[data-testid="card-number"]', { hasText: v1Total.toLocaleString('en-US') }).waitFor();
    await expect(theCard.locator('[data-testid="card-pin"]').textContent()).resolves.toBe('v1');

    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-testid="dashboard-editor"]').waitFor({ state: 'detached' });
    await allDrawn(page);
    await expect(page.locator('[data-testid="card-number"]').textContent()).resolves.toBe(v1Total.toLocaleString('en-US'));
    const saved = await expectStatus<DashboardBody>(getDashboard(owner, dashboard.id), 200);
    expect(saved.currentVersion).toBe(2);
    expect(saved.version.cards[0]).toMatchObject({ queryVersion: 1, variableMap: { since: 'start_time', until: 'end_time' } });
    // The card's run was of version 1, with the dashboard's values, and the audit log says for which dashboard.
    const started = await suite.server.app.toolsDb
      .selectFrom('audit_events')
      .select(['query_version', 'params', 'details'])
      .where('action', '=', 'run.started')
      .where('query_id', '=', query.id)
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();
    expect(started.query_version).toBe(1);
    expect(started.params).toEqual({ since: RANGE[0]!.default, until: RANGE[1]!.default });
    expect(started.details).toMatchObject({ dashboardId: dashboard.id });

    // Following the latest version again: the card shows version 2's answer.
    await page.getByRole('button', { name: 'Edit' }).click();
    await theCard.getByRole('button', { name: 'Settings of Notifications between' }).click();
    await settings.getByLabel('Query version').selectOption('');
    await applySettings.click();
    await page.locator('[data-testid="card-number"]', { hasText: v2Total.toLocaleString('en-US') }).waitFor();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-testid="dashboard-editor"]').waitFor({ state: 'detached' });
    const latest = await expectStatus<DashboardBody>(getDashboard(owner, dashboard.id), 200);
    expect(latest.version.cards[0]).toMatchObject({
      queryVersion: null,
      variableMap: { since: 'start_time', until: 'end_time' },
    });
    expect(await theCard.locator('[data-testid="card-pin"]').count()).toBe(0);
    await expectCleanPage(editor, { allowHttpErrors: [400] }); // the first run, before the variables were mapped
    await editor.close();
  });

  it('restores an old version from the history, shares it privately, locks it, forks it and archives it', async () => {
    const query = await createQuery(suite.server, owner, { name: 'One', sql: 'select 1 as one' });
    const dashboard = await createDashboard(suite.server, owner, {
      name: 'Ops board',
      cards: [card('a', query.id, { display: 'number', w: 4, h: 3 })],
    });
    await expectStatus(
      call(suite.server, owner, 'PUT', `/api/dashboards/${dashboard.id}`, {
        baseVersion: 1,
        name: 'Ops board (renamed)',
        description: 'Renamed in version 2',
        refreshSeconds: 300,
      }),
      200,
    );

    const ownerPage = await openPage(suite.browser, suite.server, dashboard.url, {
      as: owner,
      viewport: { width: 1280, height: 900 },
    });
    const { page } = ownerPage;
    await page.getByRole('heading', { name: 'Ops board (renamed)' }).waitFor();
    await page.getByRole('button', { name: 'History' }).click();
    const history = page.locator('[data-testid="dashboard-history"]');
    await history.locator('[data-testid="dashboard-version-1"]').waitFor();
    await history.locator('[data-testid="dashboard-version-2"]', { hasText: 'current' }).waitFor();
    const diff = history.locator('[data-testid="layout-diff"]');
    await diff.waitFor();
    expect(await diff.textContent()).toContain('"name": "Ops board (renamed)"');
    expect(await diff.textContent()).toContain('"refreshSeconds": 300');
    if (SCREENSHOTS) await page.screenshot({ path: 'docs/dashboard-history.png' });
    await page.getByRole('button', { name: 'Restore version 1' }).click();
    await page.locator('[data-testid="dashboard-notice"]', { hasText: 'Version 1 restored as version 3.' }).waitFor();
    await page.getByRole('heading', { name: 'Ops board', exact: true }).waitFor();
    const restored = await expectStatus<DashboardBody>(getDashboard(owner, dashboard.id), 200);
    expect(restored.currentVersion).toBe(3);
    expect(restored.version).toMatchObject({ restoredFrom: 1, name: 'Ops board', refreshSeconds: null });

    // Sharing: private hides it from everyone but the owner and admins; locked keeps others from saving.
    const viewer = await signIn(suite.server, 'viewer');
    const meta = page.locator('[data-testid="dashboard-meta"]');
    await meta.getByLabel('Who can see it').selectOption('private');
    await expect.poll(async () => (await getDashboard(viewer, dashboard.id)).statusCode).toBe(404);
    await meta.getByLabel('Who can see it').selectOption('team');
    await expect.poll(async () => (await getDashboard(viewer, dashboard.id)).statusCode).toBe(200);
    await meta.getByLabel('Locked (only I can save changes)').check();
    await expect.poll(async () => (await getDashboard(owner, dashboard.id)).json<DashboardBody>().locked).toBe(true);

    // Another editor: sees it locked (no Edit), forks it into a dashboard of their own.
    const other = await signIn(suite.server, 'editor', { name: 'Otto Other' });
    const otherPage = await openPage(suite.browser, suite.server, dashboard.url, { as: other });
    await allDrawn(otherPage.page);
    await otherPage.page.locator('[data-testid="dashboard-meta"] .badge', { hasText: 'Locked' }).waitFor();
    expect(await otherPage.page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await otherPage.page.getByRole('button', { name: 'Archive' }).count()).toBe(0);
    await otherPage.page.getByRole('button', { name: 'Fork' }).click();
    await otherPage.page.getByRole('heading', { name: 'Ops board (fork)' }).waitFor();
    await otherPage.page.locator('[data-testid="dashboard-forked-from"]', { hasText: 'Ops board' }).waitFor();
    const forkId = /\/dashboards\/([0-9]+)/.exec(await otherPage.page.evaluate<string>('window.location.pathname'))![1]!;
    const fork = await expectStatus<DashboardBody & { owner: { id: string } }>(getDashboard(other, forkId), 200);
    expect(fork.owner.id).toBe(other.user.id);
    expect(fork.permissions.edit).toBe(true);
    await expectCleanPage(otherPage);
    await otherPage.close();

    // Archive: read-only and out of the list, until unarchived.
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Archive' }).click();
    await page.locator('[data-testid="archived-banner"]').waitFor();
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    const listed = async (archived: boolean) => {
      const list = await call(suite.server, owner, 'GET', `/api/dashboards?filter=mine${archived ? '&archived=true' : ''}`);
      return list.json<{ dashboards: Array<{ id: string }> }>().dashboards.some((d) => d.id === dashboard.id);
    };
    expect([await listed(false), await listed(true)]).toEqual([false, true]);
    await page.locator('[data-testid="archived-banner"]').getByRole('button', { name: 'Unarchive' }).click();
    await page.locator('[data-testid="archived-banner"]').waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Edit' }).waitFor();
    expect([await listed(false), await listed(true)]).toEqual([true, false]);
    await expectCleanPage(ownerPage);
    await ownerPage.close();
  });

  it('lists archived dashboards apart, with their badges', async () => {
    const archivedOne = await createDashboard(suite.server, owner, { name: 'Old archived board', visibility: 'private' });
    await expectStatus(call(suite.server, owner, 'DELETE', `/api/dashboards/${archivedOne.id}`), 200);
    const list = await openPage(suite.browser, suite.server, '/dashboards', { as: owner });
    const items = list.page.locator('[data-testid="dashboard-list"] li');
    await items.first().waitFor();
    expect(await items.filter({ hasText: 'Old archived board' }).count()).toBe(0);
    await list.page.getByLabel('Archived').check();
    await items.filter({ hasText: 'Old archived board' }).filter({ hasText: 'Private' }).waitFor();
    await expectCleanPage(list);
    await list.close();
  });

  it('refreshes the cards by itself every refreshSeconds, run afresh, and not before', async () => {
    const query = await createQuery(suite.server, owner, {
      name: 'Refreshing count',
      sql: 'select count(*) as n from notifications',
    });
    const dashboard = await createDashboard(suite.server, owner, {
      name: 'Auto board',
      refreshSeconds: 60,
      cards: [card('r', query.id, { display: 'number', w: 4, h: 3 })],
    });
    const startedRuns = async () =>
      (
        await suite.server.app.toolsDb
          .selectFrom('audit_events')
          .select('details')
          .where('action', '=', 'run.started')
          .where('query_id', '=', query.id)
          .execute()
      ).map((row) => (row.details as { runId: string; dashboardId?: string }).runId);

    // The page's clock is Playwright's: its timers (the refresh check) fire when the test moves time on.
    const viewer = await openPage(suite.browser, suite.server, dashboard.url, {
      role: 'viewer',
      beforeOpen: (page) => page.clock.install(),
    });
    const { page } = viewer;
    const theCard = page.locator('[data-testid="dashboard-card"][data-card="r"]');
    await allDrawn(page);
    const first = await theCard.getAttribute('data-run-id');
    expect(await startedRuns()).toEqual([first]);

    // 30 s on: the refresh check ran (it looks every few seconds) and found nothing old enough.
    await page.clock.fastForward('00:30');
    expect(await theCard.getAttribute('data-status')).toBe('done');
    expect(await theCard.getAttribute('data-run-id')).toBe(first);

    // Past 60 s: every card runs again, afresh (the result cache is bypassed), recorded for the dashboard.
    await page.clock.fastForward('00:35');
    await page
      .locator(`[data-testid="dashboard-card"][data-card="r"][data-status="done"]:not([data-run-id="${first}"])`)
      .waitFor();
    const second = await theCard.getAttribute('data-run-id');
    expect(await theCard.getAttribute('data-cached')).toBe('false');
    expect(await startedRuns()).toEqual([first, second]);
    await expectCleanPage(viewer);
    await viewer.close();
  });
});
