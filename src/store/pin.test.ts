import { describe, expect, it } from 'vitest';
import { hashPin, isPinFormatValid, isWeakPin, pinProblem, verifyPinHash } from './pin.ts';

describe('PIN hashing', () => {
  it('verifies the right PIN and refuses others', async () => {
    const h = await hashPin('2580');
    expect(h).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(h).not.toContain('2580');
    expect(await verifyPinHash('2580', h)).toBe(true);
    expect(await verifyPinHash('2581', h)).toBe(false);
    expect(await verifyPinHash('25800', h)).toBe(false);
    expect(await verifyPinHash('', h)).toBe(false);
  });

  it('salts: the same PIN hashes differently each time', async () => {
    const [a, b] = await Promise.all([hashPin('7391'), hashPin('7391')]);
    expect(a).not.toBe(b);
    expect(await verifyPinHash('7391', a)).toBe(true);
    expect(await verifyPinHash('7391', b)).toBe(true);
  });

  it('refuses malformed stored hashes', async () => {
    for (const bad of [
      '',
      'plain',
      'scrypt$1$2$3',
      'bcrypt$16384$8$1$AAAA$BBBB',
      'scrypt$x$8$1$AAAA$BBBB',
      'scrypt$16384$8$1$$',
    ]) {
      expect(await verifyPinHash('2580', bad)).toBe(false);
    }
  });
});

describe('PIN rules', () => {
  it('requires 4–8 digits', () => {
    for (const p of ['2580', '73915', '739152', '7391528', '73915284'])
      expect(isPinFormatValid(p)).toBe(true);
    for (const p of ['', '123', '739152846', '12a4', ' 2580', '2580 ', '٢٥٨٠', '-123']) {
      expect(isPinFormatValid(p)).toBe(false);
      expect(pinProblem(p)).toBe('format');
      expect(isWeakPin(p)).toBe(true);
    }
  });

  it('refuses one repeated digit', () => {
    for (const p of ['0000', '1111', '77777', '99999999']) expect(pinProblem(p)).toBe('same_digit');
  });

  it('refuses ascending and descending runs, wrapping 9→0', () => {
    for (const p of [
      '1234',
      '4321',
      '0123',
      '3210',
      '12345678',
      '87654321',
      '6789',
      '7890',
      '8901',
      '0987',
      '2109',
    ])
      expect(pinProblem(p)).toBe('sequence');
  });

  it('refuses a short block repeated', () => {
    for (const p of ['1212', '2525', '123123', '121212', '12341234', '25802580'])
      expect(pinProblem(p)).toBe('repeated_pattern');
  });

  it('refuses PINs shorter than the company minimum (minPinLength)', () => {
    expect(pinProblem('7391', 6)).toBe('too_short');
    expect(pinProblem('73915', 6)).toBe('too_short');
    expect(pinProblem('739152', 6)).toBeNull();
    expect(isWeakPin('7391', 5)).toBe(true);
    expect(pinProblem('123456', 6)).toBe('sequence'); // length first, then weakness
    expect(pinProblem('123', 6)).toBe('format');
  });

  it('accepts ordinary PINs (keypad shapes such as the demo 2580 are allowed)', () => {
    for (const p of ['2580', '7391', '1231', '1357', '19283', '1122', '1213', '48151623']) {
      expect(pinProblem(p)).toBeNull();
      expect(isWeakPin(p)).toBe(false);
    }
  });
});
