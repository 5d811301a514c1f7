// Save as a newcomer found it (issue #18): a faded button that did not say why (the query needed a name),
// a bright Save with nothing to save, and a Team/Private switch that changed silently.
import type { Locator } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserAvailable } from '../support/browser.js';
import { serverAndBrowser } from '../support/browser-suite.js';
import { expectCleanPage, openPage, replaceSql } from './editor-support.js';

describe.skipIf(!browserAvailable)('Save and sharing states (Chromium)', { timeout: 120_000 }, () => {
  const suite = serverAndBrowser();

  /** The text an element's aria-describedby points at (what a screen reader reads after its name). */
  async function description(locator: Locator): Promise<string> {
    return locator.evaluate(
      (element: {
        getAttribute(name: string): string | null;
        ownerDocument: { getElementById(id: string): { textContent: string | null } | null };
      }) =>
        (element.getAttribute('aria-describedby') ?? '')
          .split(' ')
          .map((id) => element.ownerDocument.getElementById(id)?.textContent ?? '')
          .join(' ')
          .trim(),
    );
  }

  it('says why Save is off, calls a saved query "Saved", and confirms the Team/Private switch', async () => {
    const editor = await openPage(suite.browser, suite.server, '/queries/new');
    const { page } = editor;
    const save = page.getByTestId('save');
    const status = page.getByTestId('save-status');
    const shots: Array<{ label: string; png: Buffer }> = [];
    const settingNotice = page.getByTestId('setting-notice');
    // The title row and, on a saved query, the sharing settings under it.
    const shoot = async (label: string) => {
      const top = (await page.locator('.title-row').boundingBox())!;
      const metaShown = (await page.getByTestId('query-meta').count()) > 0;
      const meta = metaShown ? await page.getByTestId('query-meta').boundingBox() : null;
      const bottom = meta ? meta.y + meta.height : top.y + top.height;
      const clip = { x: top.x - 4, y: top.y - 4, width: top.width + 8, height: bottom - top.y + 8 };
      shots.push({ label, png: await page.screenshot({ clip }) });
    };

    // SQL but no name: the button is off and says so, beside it and to assistive technology.
    await replaceSql(page, 'select 1 as one');
    await status.getByText('Name this query to save it').waitFor();
    expect(await save.isDisabled()).toBe(true);
    expect(await save.getAttribute('title')).toBe('Name this query to save it');
    expect(await description(save)).toBe('Name this query to save it');
    await shoot('No name yet: Save is off and says why');
    // Ctrl+S says it too, and puts the cursor where the name goes.
    await page.keyboard.press('ControlOrMeta+s');
    await status.getByText('Name this query to save it.').waitFor();
    expect(await page.evaluate('document.activeElement?.getAttribute("aria-label")')).toBe('Query name');

    await page.getByLabel('Query name').fill('Calm save');
    expect(await save.isEnabled()).toBe(true);
    expect(await save.innerText()).toBe('Save');

    // The switch of a query not yet saved says what it will do.
    await page.getByLabel('Visibility').selectOption('private');
    await status.getByText('It will be saved as private: only you and admins can open it.').waitFor();
    await shoot('Named, private chosen: the switch says what it will do');

    await save.click();
    await page.waitForURL(/\/queries\/\d+-calm-save$/);
    await status.getByText('Saved.').waitFor();
    // Nothing changed since: "Saved", off, and why.
    expect(await save.innerText()).toBe('Saved');
    expect(await save.isDisabled()).toBe(true);
    expect(await save.getAttribute('title')).toBe('No changes since version 1');
    const queryId = /\/queries\/(\d+)-/.exec(page.url())![1]!;
    const visibility = async () =>
      ((await page.evaluate(`fetch('/api/queries/${queryId}').then((r) => r.json())`)) as { visibility: string }).visibility;
    expect(await visibility()).toBe('private');

    // The switch on a saved query changes it and says so.
    await page.getByTestId('query-meta').getByLabel('Visibility').selectOption('team');
    await settingNotice.getByText('Now shared with the team: everyone signed in can open it.').waitFor();
    expect(await visibility()).toBe('team');
    await shoot('Saved, switched to Team: confirmed; Save says "Saved"');
    await page.getByTestId('query-meta').getByLabel('Visibility').selectOption('private');
    await settingNotice.getByText('Now private: only you and admins can open it.').waitFor();
    expect(await visibility()).toBe('private');
    await page
      .getByTestId('query-meta')
      .getByLabel(/Locked/)
      .check();
    await settingNotice.getByText('Locked: only you (and admins) can save new versions.').waitFor();

    // An edit makes it a call to action again; taking the edit back makes it calm again.
    await replaceSql(page, 'select 2 as two');
    expect(await save.innerText()).toBe('Save');
    expect(await save.isEnabled()).toBe(true);
    await shoot('Edited: Save is on again');
    await replaceSql(page, 'select 1 as one');
    expect(await save.innerText()).toBe('Saved');
    await expectCleanPage(editor);

    // The four states side by side, for the closing note.
    const sheet = await page.context().newPage();
    await sheet.setContent(
      `<body style="margin:0;padding:16px;font:14px system-ui;background:#f8fafc">${shots
        .map(
          ({ label, png }) =>
            `<figure style="margin:0 0 14px"><figcaption style="margin-bottom:4px;color:#334155">${label}</figcaption><img style="border:1px solid #cbd5e1" src="data:image/png;base64,${png.toString('base64')}"></figure>`,
        )
        .join('')}</body>`,
    );
    await sheet.screenshot({ path: 'docs/rough-save-states.png', fullPage: true });
    await editor.close();
  });
});
