import { describe, expect, it } from 'vitest';
import { normaliseDialled } from './dialled-number.ts';

describe('normaliseDialled', () => {
  it('turns Russian national and international forms into E.164', () => {
    expect(normaliseDialled('89261234567')).toBe('+79261234567');
    expect(normaliseDialled('79261234567')).toBe('+79261234567');
    expect(normaliseDialled('00441234567890')).toBe('+441234567890');
  });
  it('leaves short numbers alone', () => {
    expect(normaliseDialled('202')).toBe('202');
    expect(normaliseDialled('12')).toBe('12');
  });
});
