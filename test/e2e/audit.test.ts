// The audit review page in Chromium (issue #7): an admin filters by a user, opens a run and opens it as a
// new query; payloads render as text.
import { mkdir } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { signIn, type SignedIn } from '../support/auth.js';
import { browserAvailable, watchPage } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';

describe.skipIf(!browserAvailable)('audit review in Chromium', () => {
  const suite = serverAndBrowser();
  let admin: SignedIn;
  beforeAll(async () => {
    admin = await signIn(suite.server, 'admin', { name: 'Ada Auditor', email: 'ada@example.com' });
  });

  it('filters by a user, opens a run, and opens it as a new query', { timeout: 120_000 }, async () => {
    const dev = await signIn(suite.server, 'editor', { email: 'dev@example.com' });
    const other = await signIn(suite.server, 'editor', { email: 'other@example.com' });
    const runSql = "select service_id, count(*) from notifications\nwhere created_at > now() - interval '7 days'\ngroup by 1";
    const actor = { id: dev.user.id, email: dev.user.email };
    await suite.server.app.audit.record({ action: 'run.started', actor, dataSource: 'main', sql: runSql, params: {} });
    await suite.server.app.audit.record({
      action: 'run.finished',
      actor,
      dataSource: 'main',
      sql: runSql,
      outcome: 'ok',
      rowCount: 40,
      durationMs: 12,
    });
    await suite.server.app.audit.record({
      action: 'run.failed',
      actor: { id: other.user.id, email: other.user.email },
      dataSource: 'main',
      sql: '<img src=x onerror=alert(1)>',
      outcome: 'error',
      errorCode: 'syntax_error',
    });

    const [name, value] = admin.cookie.split('=') as [string, string];
    const context = await suite.browser.newContext();
    await context.addCookies([{ name, value, url: suite.server.origin }]);
    const page = await context.newPage();
    const seen = watchPage(page, suite.server.origin);
    page.on('dialog', () => {
      throw new Error('a dialog opened: a payload ran as script');
    });

    await page.goto(`${suite.server.origin}/admin/audit`);
    await page
      .getByTestId('integrity')
      .getByText(/Verified up to event/)
      .waitFor();
    await page.getByRole('cell', { name: '<img src=x onerror=alert(1)>' }).waitFor(); // shown as text

    await page.getByLabel('Who').fill('dev@example.com');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/actor=dev%40example.com/);
    const events = page.getByRole('table', { name: 'Audit events' });
    await expect.poll(async () => events.locator('tbody tr').count(), { timeout: 30_000 }).toBe(2);
    await mkdir('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/audit-filtered.png', fullPage: true });

    await page
      .getByRole('row', { name: /run\.finished/ })
      .getByRole('button', { name: /Open event/ })
      .click();
    const drawer = page.getByRole('complementary', { name: /Audit event/ });
    await drawer.getByTestId('audit-sql').waitFor();
    expect(await drawer.getByTestId('audit-sql').textContent()).toBe(runSql);
    await page.screenshot({ path: 'test-results/audit-drawer.png' });

    await drawer.getByRole('button', { name: 'Open as a new query' }).click();
    await page.waitForURL(`${suite.server.origin}/queries/new`);
    await expect.poll(async () => page.locator('body').innerText(), { timeout: 30_000 }).toContain('group by 1');
    expect(seen.cspViolations).toEqual([]);
    expect(seen.foreignRequests).toEqual([]);

    // Reading the log was itself recorded.
    const reads = await suite.server.app.toolsDb
      .selectFrom('audit_events')
      .select('action')
      .where('actor_user_id', '=', admin.user.id)
      .execute();
    expect(reads.map((r) => r.action)).toEqual(expect.arrayContaining(['audit.read']));
    await context.close();
  });

  it("lists a saved query's runs on its page", { timeout: 120_000 }, async () => {
    const owner = await signIn(suite.server, 'editor', { email: 'runner@example.com' });
    const headers = { cookie: owner.cookie, 'content-type': 'application/json', origin: suite.server.origin };
    const created = await fetch(`${suite.server.origin}/api/queries`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'Services count', sql: 'select count(*) as services from services', dataSource: 'main' }),
    });
    const query = (await created.json()) as { id: string };
    const ran = await fetch(`${suite.server.origin}/api/runs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ queryId: query.id, params: {} }),
    });
    expect(ran.status).toBe(200);

    const [name, value] = owner.cookie.split('=') as [string, string];
    const context = await suite.browser.newContext();
    await context.addCookies([{ name, value, url: suite.server.origin }]);
    const page = await context.newPage();
    await page.goto(`${suite.server.origin}/queries/${query.id}`);
    const runs = page.getByTestId('query-runs');
    await runs.getByText('runner@example.com · v1').first().waitFor({ timeout: 30_000 });
    expect(await runs.getByText(/^1 row ·/).count()).toBeGreaterThanOrEqual(1);
    // Opening the permalink ran the query again: the list reloads when that run ends.
    await expect.poll(async () => runs.locator('li').count(), { timeout: 30_000 }).toBe(2);
    await page.screenshot({ path: 'test-results/query-runs.png', fullPage: true });
    await context.close();
  });

  it('shows a running query to the admin, who cancels it', { timeout: 120_000 }, async () => {
    const dev = await signIn(suite.server, 'editor', { email: 'sleepy@example.com' });
    const slowRun = fetch(`${suite.server.origin}/api/runs`, {
      method: 'POST',
      headers: { cookie: dev.cookie, 'content-type': 'application/json', origin: suite.server.origin },
      body: JSON.stringify({ dataSource: 'main', sql: 'select pg_sleep(30)', params: {} }),
    });
    const [name, value] = admin.cookie.split('=') as [string, string];
    const context = await suite.browser.newContext();
    await context.addCookies([{ name, value, url: suite.server.origin }]);
    const page = await context.newPage();
    await page.goto(`${suite.server.origin}/admin/audit`);
    const running = page.getByRole('table', { name: 'Running queries' });
    await running.getByRole('cell', { name: 'sleepy@example.com' }).waitFor({ timeout: 30_000 });
    expect(await running.getByRole('cell', { name: /select pg_sleep\(30\)/ }).count()).toBe(1);
    await page.screenshot({ path: 'test-results/audit-running.png' });
    await running.getByRole('button', { name: 'Cancel' }).click();
    // Cancelling someone's query is asked first.
    const confirm = page.getByRole('dialog', { name: "Cancel sleepy@example.com's query?" });
    const started = Date.now();
    await confirm.getByRole('button', { name: 'Cancel the query' }).click();
    const response = await slowRun;
    // The engine's own tests hold the 2 s bound (THREATS.md 18); here the page only has to get it done.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toMatch(/cancel/);
    await page.getByText('No queries are running.').waitFor({ timeout: 30_000 });
    await context.close();
  });
});
