/**
 * Agent PINs: scrypt with a random 16-byte salt, constant-time comparison.
 * A PIN is never logged and never stored in clear; the stored form is
 * `scrypt$N$r$p$<salt b64>$<hash b64>` so the parameters can change later.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LEN = 32;

function derive(pin: string, salt: Buffer, n: number, r: number, p: number, keyLen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(pin, salt, keyLen, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

/** The PIN format of SPEC §2: 4 to 8 decimal digits. */
export function isPinFormatValid(pin: string): boolean {
  return /^[0-9]{4,8}$/.test(pin);
}

export async function hashPin(pin: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(pin, salt, N, R, P, KEY_LEN);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** False for a wrong PIN or a malformed stored hash. */
export async function verifyPinHash(pin: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![n, r, p].every((v) => Number.isInteger(v) && v > 0)) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.length === 0 || expected.length === 0) return false;
  const key = await derive(pin, salt, n, r, p, expected.length);
  return timingSafeEqual(key, expected);
}

/** A hash of a random PIN, verified against when the login is unknown so both paths cost the same. */
let dummyHash: Promise<string> | undefined;
export function dummyPinHash(): Promise<string> {
  dummyHash ??= hashPin(randomBytes(8).toString('hex'));
  return dummyHash;
}

export type PinProblem = 'format' | 'too_short' | 'same_digit' | 'sequence' | 'repeated_pattern';

/** The shortest PIN SPEC §2 allows; a company may ask for more (`minPinLength`). */
export const MIN_PIN_LENGTH = 4;

/**
 * Why a new PIN is refused, or null when it is acceptable:
 * - `format`: not 4–8 digits;
 * - `too_short`: fewer digits than `minLength` (the company's `minPinLength`);
 * - `same_digit`: one digit repeated (`0000`, `77777`);
 * - `sequence`: each digit one above (or each one below) the previous, wrapping 9→0
 *   (`1234`, `4321`, `7890`, `12345678`, `09876`);
 * - `repeated_pattern`: a shorter block repeated to fill the PIN (`1212`, `123123`, `25802580`).
 * Keypad shapes (`2580`, the demo PIN, is a keypad column) and dates are not refused.
 */
export function pinProblem(pin: string, minLength = MIN_PIN_LENGTH): PinProblem | null {
  if (!isPinFormatValid(pin)) return 'format';
  if (pin.length < minLength) return 'too_short';
  const d = [...pin].map(Number);
  if (d.every((x) => x === d[0])) return 'same_digit';
  const step = (s: number): boolean => d.every((x, i) => i === 0 || x === ((d[i - 1] ?? 0) + s + 10) % 10);
  if (step(1) || step(-1)) return 'sequence';
  for (let len = 2; len <= pin.length / 2; len++) {
    if (pin.length % len === 0 && pin.slice(0, len).repeat(pin.length / len) === pin)
      return 'repeated_pattern';
  }
  return null;
}

/** True when the PIN is malformed or too simple (see `pinProblem`). */
export function isWeakPin(pin: string, minLength = MIN_PIN_LENGTH): boolean {
  return pinProblem(pin, minLength) !== null;
}
