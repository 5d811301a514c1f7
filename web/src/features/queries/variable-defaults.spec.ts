import { describe, expect, it } from 'vitest';
import type { VariableDeclaration } from './api';
import { defaultsOf, updateDeclaration, withDefaults } from './variable-defaults';

describe('variable declarations with defaults', () => {
  const declared: VariableDeclaration[] = [
    { name: 'channel', kind: 'text', optionsQueryId: '4' },
    { name: 'ids', kind: 'number', multiple: true },
  ];

  it('sets defaults for the variables given, keeping what else was declared, and clears empty ones', () => {
    const next = withDefaults(
      [...declared, { name: 'old', default: 'x' }],
      { start_time: 'today-29d', end_time: 'tomorrow', channel: 'email', old: '' },
      ['start_time', 'end_time', 'channel', 'old'],
    );
    expect(next).toEqual([
      { name: 'channel', kind: 'text', optionsQueryId: '4', default: 'email' },
      { name: 'ids', kind: 'number', multiple: true },
      { name: 'start_time', default: 'today-29d' },
      { name: 'end_time', default: 'tomorrow' },
    ]);
    expect(defaultsOf(next)).toEqual({ channel: 'email', start_time: 'today-29d', end_time: 'tomorrow' });
  });

  it('keeps a declaration set back to "auto" while it still has a default, and drops it when nothing is left', () => {
    const withDefault = updateDeclaration([{ name: 'n', kind: 'number', default: '5' }], 'n', { kind: undefined });
    expect(withDefault).toEqual([{ name: 'n', default: '5' }]);
    expect(updateDeclaration(withDefault, 'n', { default: '' })).toEqual([]);
    expect(updateDeclaration([], 'n', { kind: 'date' })).toEqual([{ name: 'n', kind: 'date' }]);
  });
});
