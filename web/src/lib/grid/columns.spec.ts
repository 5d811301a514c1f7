import { describe, expect, it } from 'vitest';
import { initialWidths } from './columns';
import { cellText } from './format';

describe('initial column widths', () => {
  it('fit the widest value of the whole column, not of the first rows (10000 was cut to "100…")', () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => [i + 1]);
    const [width] = initialWidths([{ name: 'n', type: 'number' }], rows);
    const [narrow] = initialWidths([{ name: 'n', type: 'number' }], rows.slice(0, 200));
    expect(cellText(10_000, 'number', 'n')).toBe('10,000');
    expect(width).toBeGreaterThan(narrow!);
    // As wide as a column whose only value is the last one.
    expect(width).toBe(initialWidths([{ name: 'n', type: 'number' }], [[10_000]])[0]);
  });

  it('fit a long text that only appears far down', () => {
    const rows: Array<[string]> = Array.from({ length: 5_000 }, () => ['short']);
    rows.push(['a much longer value that arrives at the very end']);
    const [width] = initialWidths([{ name: 'label', type: 'string' }], rows);
    expect(width).toBe(initialWidths([{ name: 'label', type: 'string' }], [rows.at(-1)!])[0]);
  });
});
