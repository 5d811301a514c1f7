import { describe, expect, it } from 'vitest';
import { csvField, csvLine } from './csv.js';

describe('csvField', () => {
  it('quotes commas, quotes and line breaks and keeps everything else as it is', () => {
    expect(csvField(null)).toBe('');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('=1+1')).toBe('=1+1');
    expect(csvField(-3)).toBe('-3');
  });

  it.each([
    ['=HYPERLINK("https://evil.example","x")', `"'=HYPERLINK(""https://evil.example"",""x"")"`],
    ['+1+cmd|calc', `'+1+cmd|calc`],
    ['-2+3', `'-2+3`],
    ['@SUM(A1:A9)', `'@SUM(A1:A9)`],
    ['\t=1', `'\t=1`],
    ['\r=1', `"'\r=1"`],
    ['=1,2', `"'=1,2"`],
  ])('neutralises the formula %j when asked (THREATS.md 51)', (value, expected) => {
    expect(csvField(value, { neutraliseFormulas: true })).toBe(expected);
  });

  it('leaves cells that only contain formula characters later on alone', () => {
    expect(csvField('select 1 = 1', { neutraliseFormulas: true })).toBe('select 1 = 1');
    expect(csvField(' =1', { neutraliseFormulas: true })).toBe(' =1');
    expect(csvLine(['a', '=b', null], { neutraliseFormulas: true })).toBe(`a,'=b,\r\n`);
  });
});
