import { describe, expect, it } from 'vitest';
import { counted } from './plural';

describe('counted', () => {
  it('puts the noun in the number the count needs', () => {
    expect(counted(1, 'run')).toBe('1 run');
    expect(counted(0, 'run')).toBe('0 runs');
    expect(counted(2, 'query', 'queries')).toBe('2 queries');
    expect(counted(1234, 'row')).toBe(`${(1234).toLocaleString()} rows`);
  });
});
