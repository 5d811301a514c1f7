import { describe, expect, it } from 'vitest';
import { segments, tokenize } from './sql-tokens';

describe('sql tokens', () => {
  it('tells keywords, identifiers, strings, numbers, variables and comments apart', () => {
    const line = `SELECT "Name", count(*) FROM users WHERE created_at > {since_at} AND note = 'it''s -- fine' -- why`;
    const kinds = tokenize(line)
      .filter((t) => t.kind !== 'space')
      .map((t) => `${t.kind}:${t.text}`);
    expect(kinds).toEqual([
      'keyword:SELECT',
      'identifier:"Name"',
      'operator:,',
      'keyword:count',
      'operator:(',
      'operator:*',
      'operator:)',
      'keyword:FROM',
      'identifier:users',
      'keyword:WHERE',
      'identifier:created_at',
      'operator:>',
      'variable:{since_at}',
      'keyword:AND',
      'identifier:note',
      'operator:=',
      "string:'it''s -- fine'",
      'comment:-- why',
    ]);
  });

  it('never loses or changes a character, whatever the input', () => {
    for (const line of ['<img src=x onerror=alert(1)>', "'unterminated", '/* open', '$$ body', '€ ü 日本 \u0000', '']) {
      expect(
        tokenize(line)
          .map((t) => t.text)
          .join(''),
      ).toBe(line);
    }
  });

  it('cuts tokens at changed ranges', () => {
    const parts = segments('select id, sent_at', [[10, 18]]);
    expect(parts.filter((p) => p.changed).map((p) => p.text)).toEqual([' ', 'sent_at']);
    expect(parts.map((p) => p.text).join('')).toBe('select id, sent_at');
  });
});
