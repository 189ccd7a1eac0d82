import { describe, expect, it } from 'vitest';
import { formatNumber, normaliseNumber } from './phone-number.ts';

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

describe('normaliseNumber per country', () => {
  it('Kazakhstan shares +7 and the 8 prefix', () => {
    expect(normaliseNumber('87012345678', 'KZ')).toBe('+77012345678');
    expect(normaliseNumber('77012345678', 'KZ')).toBe('+77012345678');
  });
  it('Belarus: 8 0XX …, 810 international', () => {
    expect(normaliseNumber('80171234567', 'BY')).toBe('+375171234567');
    expect(normaliseNumber('810491711234567', 'BY')).toBe('+491711234567');
  });
  it('0 prefix countries: 0… national, 00… international', () => {
    expect(normaliseNumber('030 1234567', 'DE')).toBe('+49301234567');
    expect(normaliseNumber('00 7 495 000 00 01', 'DE')).toBe('+74950000001');
    expect(normaliseNumber('020 7946 0018', 'GB')).toBe('+442079460018');
    expect(normaliseNumber('0441234567', 'UA')).toBe('+380441234567');
    // An 8… number is no Russian number in Germany.
    expect(normaliseNumber('89261234567', 'DE')).toBe('89261234567');
    expect(normaliseNumber('202', 'DE')).toBe('202');
  });
  it('US: 1 + ten digits, ten digits, 011 international', () => {
    expect(normaliseNumber('12125550100', 'US')).toBe('+12125550100');
    expect(normaliseNumber('(212) 555-0100', 'US')).toBe('+12125550100');
    expect(normaliseNumber('011 44 20 7946 0018', 'US')).toBe('+442079460018');
  });
  it('E164 knows only + and 00', () => {
    expect(normaliseNumber('0049301234567', 'E164')).toBe('+49301234567');
    expect(normaliseNumber('89261234567', 'E164')).toBe('89261234567');
  });
});

describe('formatNumber', () => {
  it('writes E.164 with or without +, or national', () => {
    expect(formatNumber('+79261234567', 'e164_plus')).toBe('+79261234567');
    expect(formatNumber('+79261234567', 'e164')).toBe('79261234567');
    expect(formatNumber('+79261234567', 'national')).toBe('89261234567');
    expect(formatNumber('+441234567890', 'national')).toBe('810441234567890');
    expect(formatNumber('+49301234567', 'national', 'DE')).toBe('0301234567');
    expect(formatNumber('+79261234567', 'national', 'DE')).toBe('0079261234567');
  });
  it('leaves short numbers and SIP users alone', () => {
    expect(formatNumber('202', 'e164')).toBe('202');
    expect(formatNumber('anonymous', 'national')).toBe('anonymous');
  });
});
