// Refusals that agree with each other (issue #18, defect 9): a viewer is told about the editor role on
// save and on fork alike, and is never told to fork (which a viewer cannot do); an editor refused by a
// lock is the one pointed to Fork.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { signIn, type SignedIn } from '../support/auth.js';
import { call, createQuery, expectStatus, type QueryBody } from './support.js';

describe('refusal messages for saved queries', () => {
  let t: TestApp;
  let owner: SignedIn;
  let viewer: SignedIn;
  let editor: SignedIn;
  let query: QueryBody;
  beforeAll(async () => {
    t = await startTestApp();
    [owner, viewer, editor] = await Promise.all([signIn(t, 'editor'), signIn(t, 'viewer'), signIn(t, 'editor')]);
    query = await createQuery(t, owner, { name: 'Shared' });
    await expectStatus(call(t, owner, 'PUT', `/api/queries/${query.id}`, { locked: true }), 200);
  });
  afterAll(() => t.close());

  const message = async (who: SignedIn, method: 'PUT' | 'POST', url: string, body?: unknown) => {
    const { error } = await expectStatus<{ error: { code: string; message: string } }>(call(t, who, method, url, body), 403);
    return error.message;
  };

  it('tells a viewer about the editor role on save, fork and create, never to fork', async () => {
    const refusals = [
      await message(viewer, 'PUT', `/api/queries/${query.id}`, { baseVersion: 1, name: 'mine' }),
      await message(viewer, 'POST', `/api/queries/${query.id}/fork`),
      await message(viewer, 'POST', '/api/queries', { name: 'new', dataSource: 'main', sql: 'select 1' }),
    ];
    for (const text of refusals) {
      expect(text).toMatch(/needs the editor role; you are a viewer\.$/);
      expect(text).not.toMatch(/fork it/i);
    }
  });

  it('points an editor refused by the lock to Fork', async () => {
    expect(await message(editor, 'PUT', `/api/queries/${query.id}`, { baseVersion: 2, name: 'mine' })).toBe(
      'This query is locked by its owner: fork it to make your own copy.',
    );
  });
});
