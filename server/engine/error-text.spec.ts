import { describe, expect, it } from 'vitest';
import { capText } from './error-text.js';

describe('capText', () => {
  it('keeps short text as it is', () => {
    expect(capText('syntax error at or near "x"')).toBe('syntax error at or near "x"');
    expect(capText('é'.repeat(2048))).toBe('é'.repeat(2048)); // exactly 4 KB of UTF-8
  });

  it('cuts long text at a character boundary and says how much was cut', () => {
    const cut = capText('x'.repeat(20_000_000));
    expect(cut).toBe(`${'x'.repeat(4096)}… [cut: 19,995,904 bytes]`);
    const emoji = capText('😀'.repeat(2000), 4095); // 4-byte characters; 4095 is not a multiple of 4
    expect(emoji).toBe(`${'😀'.repeat(1023)}… [cut: 3,908 bytes]`);
    expect(capText('aé'.repeat(3000), 4096)).toMatch(/^(aé){1365}a… \[cut: 4,904 bytes\]$/);
  });
});
