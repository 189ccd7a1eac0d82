/**
 * Console passwords and random secrets (API tokens, session ids).
 *
 * Passwords are scrypt hashes in the PIN format (`scrypt$N$r$p$<salt>$<hash>`, `pin.ts`):
 * one slow, salted, parameterised hash for every human-chosen secret. Tokens and session
 * ids are 256 random bits, so a plain SHA-256 stores them safely (nothing to brute-force)
 * and lets them be looked up by their hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hashPin, verifyPinHash } from './pin.ts';

export const hashPassword = (password: string): Promise<string> => hashPin(password);
export const verifyPasswordHash = (password: string, stored: string): Promise<boolean> =>
  verifyPinHash(password, stored);

/** A fresh random secret: 32 bytes, base64url, with a prefix naming what it is (`alt_` token). */
export function newSecret(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** A password a human can type: 16 characters from an unambiguous alphabet (~90 bits). */
export function newPassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(16);
  // 256 % 56 != 0: the tiny bias is irrelevant for a one-time initial password.
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}

/** Usernames: lower-case letters, digits, `.`, `_`, `-`, 1–64 characters. */
export const USERNAME_RE = /^[a-z0-9._-]{1,64}$/;
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 200;
