// API tokens and background runs in Chromium (issue #12): create a token (its secret shown once), revoke it;
// start a background run, close the page, come back and download its result.
import { readFile } from 'node:fs/promises';
import type { BrowserContext } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { signIn, type SignedIn } from '../support/auth.js';
import { browserAvailable, textContrast, watchPage } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { replaceSql } from './editor-support.js';

describe.skipIf(!browserAvailable)('API tokens and background runs in Chromium', () => {
  const suite = serverAndBrowser();
  let editor: SignedIn;
  beforeAll(async () => {
    editor = await signIn(suite.server, 'editor', { name: 'Tess Tokens', email: 'tess@example.com' });
  });

  async function signedInContext(): Promise<BrowserContext> {
    const [name, value] = editor.cookie.split('=') as [string, string];
    const context = await suite.browser.newContext({ viewport: { width: 1360, height: 1000 }, acceptDownloads: true });
    await context.addCookies([{ name, value, url: suite.server.origin }]);
    return context;
  }

  const me = (token: string) =>
    suite.server.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });

  it('creates a token, shows its secret once, and revokes it', { timeout: 120_000 }, async () => {
    const context = await signedInContext();
    const page = await context.newPage();
    const seen = watchPage(page, suite.server.origin);
    await page.goto(`${suite.server.origin}/settings/tokens`);
    await page.getByTestId('token-name').fill('laptop script');
    await page.getByTestId('create-token-submit').click();
    const secret = await page.getByTestId('token-secret-value').inputValue();
    expect(secret).toMatch(/^pht_[0-9A-Za-z]{40}$/);
    expect((await me(secret)).statusCode).toBe(200);
    await page.screenshot({ path: 'test-results/tokens-created.png' });
    // Readable in both themes (the dark theme once had dark text on its dark warning background).
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      expect(await textContrast(page.getByTestId('token-secret')), colorScheme).toBeGreaterThanOrEqual(4.5);
      expect(await textContrast(page.getByTestId('token-secret-value')), colorScheme).toBeGreaterThanOrEqual(4.5);
    }
    await page.screenshot({ path: 'test-results/tokens-created-dark.png' });
    await page.emulateMedia({ colorScheme: null });

    // Shown once: after a reload only the first characters remain.
    await page.reload();
    const row = page.getByTestId('token-row').filter({ hasText: 'laptop script' });
    await row.waitFor();
    expect(await page.content()).not.toContain(secret.slice(8));
    await expect.poll(() => row.getAttribute('data-status')).toBe('active');
    expect(await row.textContent()).toContain(secret.slice(0, 8));

    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByTestId('revoke-token').click();
    await page.locator('[data-testid="token-row"][data-status="revoked"]').filter({ hasText: 'laptop script' }).waitFor();
    expect((await me(secret)).statusCode).toBe(401);
    expect(seen.foreignRequests).toEqual([]);
    await context.close();
  });

  it(
    'runs a query in the background, survives the page closing, and downloads the result later',
    { timeout: 120_000 },
    async () => {
      const first = await signedInContext();
      const page = await first.newPage();
      await page.goto(`${suite.server.origin}/queries/new`);
      await page.waitForLoadState('networkidle');
      await replaceSql(page, 'select n, n * n as square, pg_sleep(0.2) is null as slept from generate_series(1, 5) n');
      await page.getByTestId('run-background').click();
      const started = page.getByTestId('background-run').first();
      await started.waitFor();
      const runId = await started.getAttribute('data-run-id');
      expect(runId).toMatch(/^[0-9a-f-]{36}$/);
      await first.close(); // the tab goes away while the run may still be going

      const second = await signedInContext();
      const again = await second.newPage();
      await again.goto(`${suite.server.origin}/queries/new`);
      const listed = again.locator(`[data-testid="background-run"][data-run-id="${runId}"]`);
      await listed.waitFor();
      await again
        .locator(`[data-testid="background-run"][data-run-id="${runId}"][data-status="succeeded"]`)
        .waitFor({ timeout: 60_000 });
      await again.screenshot({ path: 'test-results/background-runs.png' });
      const [download] = await Promise.all([again.waitForEvent('download'), listed.getByTestId('background-download').click()]);
      const csv = await readFile((await download.path())!, 'utf8');
      expect(csv).toBe('n,square,slept\n1,1,false\n2,4,false\n3,9,false\n4,16,false\n5,25,false\n');

      // Show puts the stored rows in the grid.
      await listed.getByTestId('background-show').click();
      await again.getByTestId('run-summary').getByText('5 rows').waitFor();
      await second.close();
    },
  );
});
