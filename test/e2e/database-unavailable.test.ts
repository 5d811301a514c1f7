// The web app while a data source is away (issue #20): a read answered 503 shows "The database is
// unavailable, retrying…", is tried exactly once more after Retry-After, and then says what failed; a run
// is never retried. The data source is a PostgreSQL server of this file's own, stopped for the test.
import { mkdir } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../support/auth.js';
import { browserAvailable, launchBrowser, watchPage } from '../support/browser.js';
import { startRestartableCluster, type RestartableCluster } from '../support/restartable-cluster.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe.skipIf(!browserAvailable)('the web app while the data source is unavailable (Chromium)', { timeout: 120_000 }, () => {
  let source: RestartableCluster;
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    source = await startRestartableCluster();
    [server, browser] = await Promise.all([
      startTestServer({}, undefined, { servers: { main: source.adminUrl } }),
      launchBrowser(),
    ]);
    await mkdir('test-results', { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    if (source && !source.running) await source.start();
    await server?.close();
    await source?.destroy();
  });

  const notice = (page: Page) => page.getByRole('status').filter({ hasText: 'The database is unavailable, retrying' });

  it('retries a read once behind a notice, and a run never', async () => {
    await source.stop('fast');
    const { cookie } = await signIn(server, 'editor');
    const [name, value] = cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    await context.addCookies([{ name, value, url: server.origin }]);
    const page = await context.newPage();
    const seen = watchPage(page, server.origin);
    const requests: string[] = [];
    page.on('request', (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname}`));

    // The editor reads the source's schema: 503, the notice, one retry after Retry-After, then the error.
    await page.goto(`${server.origin}/queries/new`);
    await notice(page).waitFor();
    await page.screenshot({ path: 'test-results/database-unavailable-retrying.png' });
    const schemaError = page.getByRole('alert').filter({ hasText: 'is unavailable' });
    await schemaError.waitFor();
    await notice(page).waitFor({ state: 'hidden' });
    expect(requests.filter((line) => line === 'GET /api/data-sources/main/schema')).toHaveLength(2);

    // A run: one request, its error shown at once, no notice and no retry.
    await page.locator('[data-testid="sql-editor"][data-ready="true"]').waitFor();
    await page.locator('.cm-content').click();
    await page.keyboard.insertText('select 1');
    await page.locator('[data-testid="run"]').click();
    const runError = page.locator('[data-testid="run-error"]');
    await runError.waitFor();
    expect(await runError.innerText()).toContain('The data source "main" is unavailable');
    expect(await notice(page).count()).toBe(0);
    await page.screenshot({ path: 'test-results/database-unavailable-run.png' });
    expect(requests.filter((line) => line === 'POST /api/runs')).toHaveLength(1);
    expect(seen.foreignRequests).toEqual([]);
    await context.close();
  });
});
