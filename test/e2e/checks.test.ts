// Checks in Chromium: an editor adds a check from a saved query's page with a cron schedule (the form
// previews its next runs and shows the server's refusal of a bad expression), picks Slack and webhook
// destinations, runs it now and sees the state, the history and the demo outbox's email; then edits it
// (the same form, prefilled) and deletes it after confirming. Another editor can do neither. The pages
// are screenshotted for the README (docs/checks-*.png).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser, watchPage } from '../support/browser.js';
import { jsonHeaders, signIn, type SignedIn } from '../support/auth.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../engine/support.js';

describe.skipIf(!browserAvailable)('checks (Chromium)', { timeout: 180_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let receiver: http.Server;
  let outbox: string;
  const received: string[] = [];

  beforeAll(async () => {
    outbox = await mkdtemp(path.join(os.tmpdir(), 'porthole-e2e-outbox-'));
    receiver = http.createServer((request, response) => {
      received.push(request.url!);
      request.resume().on('end', () => response.writeHead(200).end('ok'));
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    [server, browser] = await Promise.all([
      startTestServer({ WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' }, undefined, { checks: { outboxDir: outbox } }),
      launchBrowser(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    receiver?.close();
    if (outbox) await rm(outbox, { recursive: true, force: true });
  });

  async function pageFor(who: SignedIn): Promise<{ context: BrowserContext; page: Page }> {
    const [cookieName, value] = who.cookie.split('=') as [string, string];
    const context = await browser.newContext({ viewport: { width: 1300, height: 1000 }, timezoneId: 'Europe/Paris' });
    await context.addCookies([{ name: cookieName, value, url: server.origin }]);
    return { context, page: await context.newPage() };
  }

  async function inject<T>(who: SignedIn, method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
    const response = await server.app.inject({
      method,
      url,
      headers: body === undefined ? { cookie: who.cookie } : jsonHeaders(who, server),
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json<T>();
  }

  it('adds a cron check with destinations, runs it, edits it and deletes it', async () => {
    const admin = await signIn(server, 'admin');
    const editor = await signIn(server, 'editor', { name: 'Eddie Editor' });
    const otherEditor = await signIn(server, 'editor', { name: 'Olga Other' });
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    await inject(admin, 'POST', '/api/alert-destinations', { kind: 'slack', name: '#ops-alerts', url: `${receiverUrl}/slack` });
    await inject(admin, 'POST', '/api/alert-destinations', {
      kind: 'webhook',
      name: 'Pager webhook',
      url: `${receiverUrl}/pager`,
    });
    const query = await inject<{ id: string }>(editor, 'POST', '/api/queries', {
      name: 'Failed SMS today',
      dataSource: 'main',
      sql: "select count(*)::int as failed from notifications where notification_type = {channel} and notification_status like '%failure'",
      variables: [{ name: 'channel', kind: 'text' }],
    });

    const { context, page } = await pageFor(editor);
    const seen = watchPage(page, server.origin);
    await page.goto(`${server.origin}/queries/${query.id}`);
    await page.getByRole('link', { name: 'Add a check' }).click();
    await page.waitForURL(/\/checks\/new\?query=/);
    await page.getByLabel('Name').fill('Any failed SMS');
    await page.locator('input[name="channel"]').fill('sms');

    // A cron schedule in a time zone: the preview puts it in words and lists the next five runs.
    await page.getByLabel('On a cron schedule').check();
    await page.getByLabel('Cron expression').fill('61 9 * * 1-5');
    await page.getByLabel('Time zone').fill('Europe/Paris');
    const preview = page.getByTestId('schedule-preview');
    await preview.getByText(/cannot be read/).waitFor();
    await page.getByLabel('Cron expression').fill('30 9 * * 1-5');
    await preview.getByText('at 09:30, Monday through Friday (Europe/Paris time)').waitFor();
    const nextRuns = await preview.locator('li').allInnerTexts();
    expect(nextRuns).toHaveLength(5);
    for (const run of nextRuns) expect(run).toMatch(/9:30/);

    await page.getByLabel('Failing when').selectOption('threshold');
    await page.locator('input[name="column"]').fill('failed');
    await page.locator('input[name="value"]').fill('0');
    await page.getByLabel('Email to (comma-separated)').fill('oncall@example.com');
    const picker = page.getByTestId('destination-picker');
    await picker.getByLabel(/#ops-alerts/).check();
    await picker.getByLabel(/Pager webhook/).check();
    await page.getByLabel('Remind every (hours)').fill('4');
    await page.screenshot({ path: 'docs/checks-new.png', fullPage: true });
    await page.getByRole('button', { name: 'Create check' }).click();
    await page.waitForURL(/\/checks\/\d+$/);
    const checkId = /\/checks\/(\d+)$/.exec(page.url())![1]!;

    await page.getByTestId('check-state').first().getByText('pending').waitFor();
    await page.getByTestId('check-schedule').getByText('Runs at 09:30, Monday through Friday (Europe/Paris time)').waitFor();
    expect(await page.getByTestId('check-recipients').innerText()).toBe(
      'oncall@example.com, #ops-alerts (Slack), Pager webhook (webhook)',
    );
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByTestId('check-state').first().getByText('failing').waitFor();
    await expect.poll(() => page.getByTestId('state-reason').innerText()).toMatch(/^failed is \d+, which is > 0\.$/);

    // The three notifications go out through the queue; the history shows each, and the demo outbox's email.
    await waitFor(
      'three deliveries',
      async () => {
        const { runs } = await inject<{ runs: Array<{ deliveries: Array<{ status: string }> }> }>(
          editor,
          'GET',
          `/api/checks/${checkId}/runs`,
        );
        return runs[0]?.deliveries.filter((d) => d.status === 'sent').length === 3;
      },
      30_000,
    );
    expect(received.sort()).toEqual(['/pager', '/slack']);
    await page.reload();
    const history = page.getByTestId('check-history').locator('tbody tr');
    await history.first().waitFor(); // the history loads after the page does
    expect(await history.count()).toBe(1);
    expect(await history.first().innerText()).toMatch(/manual\s+failing/);
    await history.first().getByText('slack #ops-alerts: sent (attempt 1)').waitFor();
    await history.first().getByText('webhook Pager webhook: sent (attempt 1)').waitFor();
    const [email] = await Promise.all([
      context.waitForEvent('page'),
      history.first().getByRole('link', { name: 'view email' }).click(),
    ]);
    await email.waitForLoadState();
    const emailText = await email.locator('body').innerText();
    expect(emailText).toContain('To: oncall@example.com');
    expect(emailText).toContain('Subject: [Porthole] Any failed SMS is FAILING');
    await email.close();
    await page.screenshot({ path: 'docs/checks-page.png', fullPage: true });

    // Another editor sees the check but gets no Edit or Delete, and the edit page says why.
    const other = await pageFor(otherEditor);
    await other.page.goto(`${server.origin}/checks/${checkId}`);
    await other.page.getByTestId('check-state').first().waitFor();
    expect(await other.page.getByRole('link', { name: 'Edit' }).count()).toBe(0);
    expect(await other.page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await other.page.goto(`${server.origin}/checks/${checkId}/edit`);
    await other.page.getByRole('alert').getByText('Only the owner of this check or an admin can change it.').waitFor();
    await other.context.close();

    // Edit: the same form, prefilled.
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.waitForURL(/\/checks\/\d+\/edit$/);
    await expect.poll(() => page.getByLabel('Name').inputValue()).toBe('Any failed SMS');
    expect(await page.getByLabel('On a cron schedule').isChecked()).toBe(true);
    expect(await page.getByLabel('Cron expression').inputValue()).toBe('30 9 * * 1-5');
    expect(await page.getByLabel('Time zone').inputValue()).toBe('Europe/Paris');
    expect(await page.locator('input[name="channel"]').inputValue()).toBe('sms');
    expect(await page.locator('input[name="column"]').inputValue()).toBe('failed');
    expect(await page.getByLabel('Remind every (hours)').inputValue()).toBe('4');
    const editPicker = page.getByTestId('destination-picker');
    await expect.poll(() => editPicker.getByLabel(/#ops-alerts/).isChecked()).toBe(true);
    expect(await editPicker.getByLabel(/Pager webhook/).isChecked()).toBe(true);
    await page.getByLabel('Name').fill('Any failed SMS (every 15 minutes)');
    await page.getByLabel('At a fixed interval').check();
    await page.locator('select[name="every"]').selectOption('15m');
    await page.getByTestId('schedule-preview').getByText('every 15 minutes').waitFor();
    await editPicker.getByLabel(/Pager webhook/).uncheck();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForURL(/\/checks\/\d+$/);
    await page.getByRole('heading', { name: 'Any failed SMS (every 15 minutes)' }).waitFor();
    await page.getByTestId('check-schedule').getByText('Runs every 15 minutes').waitFor();
    expect(await page.getByTestId('check-recipients').innerText()).toBe('oncall@example.com, #ops-alerts (Slack)');

    // Delete, after a confirmation that can be cancelled.
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this check?' });
    await dialog.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(
      (await server.app.inject({ method: 'GET', url: `/api/checks/${checkId}`, headers: { cookie: editor.cookie } })).statusCode,
    ).toBe(200);
    await page.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete check' }).click();
    await page.waitForURL(/\/checks$/);
    await page.getByRole('heading', { name: 'Checks' }).waitFor();
    expect(
      (await server.app.inject({ method: 'GET', url: `/api/checks/${checkId}`, headers: { cookie: editor.cookie } })).statusCode,
    ).toBe(404);
    expect(await page.getByRole('link', { name: /Any failed SMS/ }).count()).toBe(0);

    expect(seen.cspViolations).toEqual([]);
    expect(seen.foreignRequests).toEqual([]);
    expect(seen.pageErrors).toEqual([]);
    await context.close();
  });

  it('lists checks with their state and schedule', async () => {
    const editor = await signIn(server, 'editor', { name: 'Eddie Editor' });
    const query = await inject<{ id: string }>(editor, 'POST', '/api/queries', {
      name: 'Imports today',
      dataSource: 'main',
      sql: "select count(*)::int as imported from jobs where created_at > now() - interval '1 day'",
    });
    await inject(editor, 'POST', '/api/checks', {
      queryId: query.id,
      name: 'Nothing imported today',
      schedule: { cron: '0 7 * * *', timeZone: 'Europe/London' },
      condition: { kind: 'threshold', column: 'imported', op: '=', value: 0 },
      emails: ['data@example.com'],
    });
    const { context, page } = await pageFor(editor);
    await page.goto(`${server.origin}/checks`);
    await page.getByRole('link', { name: 'Nothing imported today' }).waitFor();
    await page.getByText('at 07:00 (Europe/London time)').waitFor();
    await page.screenshot({ path: 'docs/checks-list.png' });
    await context.close();
  });
});
