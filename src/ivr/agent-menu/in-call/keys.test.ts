import { describe, expect, it } from 'vitest';
import { entryRules, feedEntry, menuChoice } from './keys.ts';

describe('in-call keys', () => {
  it('the menu keys 1 to 5 and 7 (recording); any other key is no choice', () => {
    expect(['1', '2', '3', '4', '5', '6', '7', '8', '#'].map(menuChoice)).toEqual([
      'external',
      'department',
      'announce',
      'wait',
      'back',
      undefined,
      'record',
      undefined,
      undefined,
    ]);
  });

  it('a department is three digits; # is refused', () => {
    const rules = entryRules('department', 1000);
    expect(feedEntry(rules, '', '2')).toEqual({ kind: 'more', digits: '2' });
    expect(feedEntry(rules, '20', '0')).toEqual({ kind: 'done', digits: '200' });
    expect(feedEntry(rules, '2', '#')).toEqual({ kind: 'refuse' });
  });

  it('a number ends with #, of any length; * starts again; a letter is refused', () => {
    const rules = entryRules('external', 1000);
    expect(feedEntry(rules, '8900123456789', '0')).toEqual({ kind: 'more', digits: '89001234567890' });
    expect(feedEntry(rules, '18', '#')).toEqual({ kind: 'done', digits: '18' });
    expect(feedEntry(rules, '18', '*')).toEqual({ kind: 'restart' });
    expect(feedEntry(rules, '18', 'A')).toEqual({ kind: 'refuse' });
  });
});
