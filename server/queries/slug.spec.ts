import { describe, expect, it } from 'vitest';
import { permalink, slugify } from './slug.js';

describe('slugify', () => {
  it.each([
    ['Failed jobs, by service (7d)', 'failed-jobs-by-service-7d'],
    ['  Crème brûlée  ', 'creme-brulee'],
    ['<img src=x onerror=alert(1)>', 'img-src-x-onerror-alert-1'],
    ['日本語', ''],
    ['a'.repeat(59) + ' b', 'a'.repeat(59)],
  ])('%s -> %s', (name, slug) => {
    expect(slugify(name)).toBe(slug);
  });

  it('makes permalinks that still work without a slug', () => {
    expect(permalink('12', 'Daily failures')).toBe('/queries/12-daily-failures');
    expect(permalink('12', '???')).toBe('/queries/12');
  });
});
