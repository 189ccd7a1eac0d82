import { describe, expect, it } from 'vitest';
import { methodLabel } from './stack.ts';

describe('methodLabel (what the counters key requests by)', () => {
  it('keeps the methods of RFC 3261 and its extensions, and counts any other as `other`', () => {
    expect(['INVITE', 'BYE', 'SUBSCRIBE', 'MESSAGE'].map(methodLabel)).toEqual([
      'INVITE',
      'BYE',
      'SUBSCRIBE',
      'MESSAGE',
    ]);
    expect([methodLabel('FOO1'), methodLabel('invite'), methodLabel(undefined)]).toEqual([
      'other',
      'other',
      'other',
    ]);
  });
});
