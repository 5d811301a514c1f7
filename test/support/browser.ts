// Headless Chromium through playwright-core and the system browser (Debian's `chromium`). Without one,
// browser tests skip with a loud message, unless REQUIRE_E2E=1 (CI), where that is a failure.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

const CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
export const chromiumPath = CANDIDATES.find((candidate): candidate is string => !!candidate && existsSync(candidate));
export const e2eRequired = process.env.REQUIRE_E2E === '1';

if (!chromiumPath) {
  const message = 'No Chromium found (install Debian\'s "chromium" or set CHROMIUM_PATH): browser tests';
  if (e2eRequired) throw new Error(`${message} are required (REQUIRE_E2E=1)`);
  console.warn(`\n*** ${message} are SKIPPED ***\n`);
}

/** describe.skipIf(!browserAvailable) for browser suites. */
export const browserAvailable = chromiumPath !== undefined;

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // The flags keep Chromium from calling home on this machine's closed network.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Collects CSP violations, requests that leave the app's origin and uncaught page errors, for assertions. */
export function watchPage(
  page: Page,
  origin: string,
): { cspViolations: string[]; foreignRequests: string[]; consoleErrors: string[]; pageErrors: string[] } {
  const seen = {
    cspViolations: [] as string[],
    foreignRequests: [] as string[],
    consoleErrors: [] as string[],
    pageErrors: [] as string[],
  };
  // An exception thrown while Svelte renders is not a console message; it stops the page's updates.
  page.on('pageerror', (error) => seen.pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') seen.consoleErrors.push(message.text());
    if (/Content Security Policy/i.test(message.text())) seen.cspViolations.push(message.text());
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) seen.foreignRequests.push(url);
  });
  return seen;
}

/**
 * WCAG contrast ratio (1 to 21) of an element's text colour against its own background colour, both as
 * computed by the page (the element must paint an opaque background of its own).
 */
export async function textContrast(locator: Locator): Promise<number> {
  // Runs in the page (the tests are compiled without the DOM's types).
  type StyleOf = (element: unknown) => { color: string; backgroundColor: string };
  const [text, background] = await locator.evaluate((element) => {
    const style = (globalThis as unknown as { getComputedStyle: StyleOf }).getComputedStyle(element);
    return [style.color, style.backgroundColor] as const;
  });
  const luminance = (css: string) => {
    const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map((part) => {
      const channel = Number(part) / 255;
      return channel <= 0.03928 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [lighter, darker] = [luminance(text), luminance(background)].sort((a, b) => b - a) as [number, number];
  return (lighter + 0.05) / (darker + 0.05);
}
