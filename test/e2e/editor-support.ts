// Shared by the editor and chart browser tests: a signed-in page with a CSP-violation listener, and
// helpers to type into CodeMirror and wait for results.
import type { Browser, Page } from 'playwright-core';
import { expect, onTestFailed } from 'vitest';
import { signIn, type SignedIn } from '../support/auth.js';
import { watchPage } from '../support/browser.js';
import type { TestServer } from '../support/server.js';
import type { Role } from '../../server/config.js';

export interface EditorPage {
  page: Page;
  seen: ReturnType<typeof watchPage>;
  /** Violations reported by `securitypolicyviolation` events, which catch what the console may not. */
  cspEvents(): Promise<string[]>;
  close(): Promise<void>;
}

export async function openPage(
  browser: Browser,
  server: TestServer,
  path: string,
  options: {
    role?: Role;
    groups?: string[];
    /** Who signs in (default "Editor Tester" with a made-up address). */
    name?: string;
    email?: string;
    colorScheme?: 'light' | 'dark';
    viewport?: { width: number; height: number };
    /** The browser's time zone (default Europe/London). */
    timezoneId?: string;
    /** Someone already signed in (e.g. the owner of what the test made through the API) instead of a new user. */
    as?: SignedIn;
    /** Runs before the page is opened (e.g. installing Playwright's clock). */
    beforeOpen?: (page: Page) => Promise<void>;
  } = {},
): Promise<EditorPage> {
  const { cookie } =
    options.as ??
    (await signIn(server, options.role ?? 'editor', {
      name: options.name ?? 'Editor Tester',
      email: options.email,
      groups: options.groups,
    }));
  const [name, value] = cookie.split('=') as [string, string];
  const context = await browser.newContext({
    colorScheme: options.colorScheme ?? 'light',
    viewport: options.viewport ?? { width: 1360, height: 1000 },
    timezoneId: options.timezoneId ?? 'Europe/London',
  });
  await context.addCookies([{ name, value, url: server.origin }]);
  // Runs in the page (as a string: this file is type-checked without the DOM library).
  await context.addInitScript(`
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (event) =>
      window.__csp.push(event.violatedDirective + ': ' + event.blockedURI + ' ' + event.sample));
    window.__alerts = 0;
    window.alert = () => { window.__alerts += 1; };
  `);
  const page = await context.newPage();
  const seen = watchPage(page, server.origin);
  onTestFailed(async ({ task }) => {
    await page
      .screenshot({ path: `test-results/failed-${task.name.replace(/\W+/g, '-').slice(0, 60)}.png` })
      .catch(() => undefined);
  });
  await options.beforeOpen?.(page);
  await page.goto(`${server.origin}${path}`);
  await page.waitForLoadState('networkidle'); // the page's own loading (data sources, schema, a saved query) is over
  return {
    page,
    seen,
    cspEvents: () => page.evaluate('window.__csp') as Promise<string[]>,
    close: () => context.close(),
  };
}

export async function editorReady(page: Page): Promise<void> {
  await page.locator('[data-testid="sql-editor"][data-ready="true"]').waitFor();
}

/** Replaces the editor's SQL by typing it (so autocomplete and bracket closing behave as for a person). */
export async function replaceSql(page: Page, sql: string): Promise<void> {
  await editorReady(page);
  await page.locator('.cm-content').click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(sql);
}

/**
 * Waits until the completion list offers this option for what was typed last (`typed` is the matched
 * part): a list left from an earlier keystroke would make Enter insert a line break instead.
 */
export async function completionSelected(page: Page, label: string, typed: string): Promise<void> {
  await page
    .locator('.cm-tooltip-autocomplete li[aria-selected="true"] .cm-completionLabel', { hasText: new RegExp(`^${label}$`) })
    .locator('.cm-completionMatchedText', { hasText: new RegExp(`^${typed}$`) })
    .waitFor();
  await page.waitForTimeout(200); // CodeMirror settles a completion update after its debounce
}

/** The address bar now: page.url() misses history.replaceState. */
export async function currentUrl(page: Page): Promise<URL> {
  return new URL((await page.evaluate('window.location.href')) as string);
}

/** Runs with Ctrl+Enter and waits for that run (not an earlier one) to finish. */
export async function runAndWait(page: Page): Promise<void> {
  const workbench = page.locator('[data-testid="workbench"]');
  const before = Number(await workbench.getAttribute('data-runs'));
  await page.locator('.cm-content').focus(); // a click could land on an open completion list
  await page.keyboard.press('ControlOrMeta+Enter');
  await page.locator(`[data-testid="workbench"][data-runs="${before + 1}"]`).waitFor({ timeout: 60_000 });
}

/** No CSP violation, no request off the origin, no console error (but the listed HTTP statuses), no alert. */
export async function expectCleanPage(editorPage: EditorPage, options: { allowHttpErrors?: number[] } = {}): Promise<void> {
  expect(await editorPage.cspEvents()).toEqual([]);
  expect(editorPage.seen.cspViolations).toEqual([]);
  expect(editorPage.seen.foreignRequests).toEqual([]);
  const expected = (message: string) =>
    (options.allowHttpErrors ?? []).some((status) => message.includes(`the server responded with a status of ${status}`));
  expect(editorPage.seen.consoleErrors.filter((message) => !expected(message))).toEqual([]);
  expect(await editorPage.page.evaluate('window.__alerts')).toBe(0);
}
