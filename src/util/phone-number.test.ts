import { describe, expect, it } from 'vitest';
import { normaliseNumber } from './phone-number.ts';

describe('normaliseNumber', () => {
  it('turns Russian national and international forms into E.164', () => {
    expect(normaliseNumber('89261234567')).toBe('+79261234567');
    expect(normaliseNumber('79261234567')).toBe('+79261234567');
    expect(normaliseNumber('00441234567890')).toBe('+441234567890');
  });
  it('keeps +… as is, drops separators, knows 810, leaves anonymous and SIP users alone', () => {
    expect(normaliseNumber('+74950000001')).toBe('+74950000001');
    expect(normaliseNumber('8 (495) 000-00-01')).toBe('+74950000001');
    expect(normaliseNumber('81044123456789')).toBe('+44123456789');
    expect(normaliseNumber('anonymous')).toBe('anonymous');
  });
  it('leaves short numbers alone', () => {
    expect(normaliseNumber('202')).toBe('202');
    expect(normaliseNumber('12')).toBe('12');
  });
});
