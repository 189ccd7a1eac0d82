import type { AuthStore } from './store.ts';

/** SPEC §4: 5 failed PINs within 15 minutes lock the login for 15 minutes. */
export const LOCKOUT_POLICY = Object.freeze({ maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 });

export type LockoutPolicy = typeof LOCKOUT_POLICY;

/**
 * When the lock ends, given failure times (any order), or null if not locked at `now`.
 * The lock starts at the failure that completes `maxFailures` within `windowMs`
 * and lasts `lockMs` from there.
 */
export function lockedUntil(
  failures: readonly number[],
  now: number,
  policy: LockoutPolicy = LOCKOUT_POLICY,
): number | null {
  const times = [...failures].sort((a, b) => a - b);
  let until: number | null = null;
  for (let i = policy.maxFailures - 1; i < times.length; i++) {
    const t = times[i] as number;
    const first = times[i - policy.maxFailures + 1] as number;
    if (t - first < policy.windowMs) until = t + policy.lockMs;
  }
  return until !== null && until > now ? until : null;
}

/** Reads the recent failures of `login` and applies `lockedUntil`. */
export async function loginLockedUntil(
  auth: AuthStore,
  login: string,
  now: number,
  policy: LockoutPolicy = LOCKOUT_POLICY,
): Promise<number | null> {
  const failures = await auth.listLoginFailures(login, now - policy.windowMs - policy.lockMs);
  return lockedUntil(failures, now, policy);
}
