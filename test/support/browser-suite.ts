// The fixtures of a browser test file: a real Porthole on fresh databases and Chromium, started together
// before the file's tests and closed after them (every browser test file began with these lines).
import { mkdir } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchBrowser } from './browser.js';
import { startTestServer, type TestServer } from './server.js';

export interface BrowserSuite {
  readonly server: TestServer;
  readonly browser: Browser;
}

/**
 * Call inside the `describe`; read `server` and `browser` in tests (they exist once beforeAll has run).
 * `resultsDir`: also create test-results/ for the screenshots and traces a test writes there.
 */
export function serverAndBrowser(options: { resultsDir?: boolean } = {}): BrowserSuite {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer(), launchBrowser()]);
    if (options.resultsDir) await mkdir('test-results', { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the browser suite has not started (use it inside a test)');
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get browser() {
      return started(browser);
    },
  };
}
