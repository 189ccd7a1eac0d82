import type { AuthStore } from './store.ts';

/** SPEC §4: 5 failed PINs within 15 minutes lock the login for 15 minutes. */
export const LOCKOUT_POLICY = Object.freeze({ maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 });

export type LockoutPolicy = Readonly<{ maxFailures: number; windowMs: number; lockMs: number }>;

/**
 * Wrong PINs per caller id across all logins (issue 11): one number that tries
 * many logins is refused after 10 in 15 minutes, for 15 minutes. Withheld caller
 * ids share one bucket (`normaliseCallerId`), so a flood from them is refused as one.
 */
export const CALLER_LOCKOUT_POLICY: LockoutPolicy = Object.freeze({
  maxFailures: 10,
  windowMs: 15 * 60_000,
  lockMs: 15 * 60_000,
});

/** Caller ids that mean "withheld"; they all count as one caller, `anonymous`. */
const WITHHELD = /^(anonymous|restricted|unknown|unavailable|private|withheld|invalid)$/i;

/**
 * The key a caller id is counted under: trimmed, at most 64 characters (it is
 * the caller's own choice of bytes), `anonymous` when empty or withheld.
 */
export function normaliseCallerId(callerId: string | null | undefined): string {
  const id = (callerId ?? '').trim();
  return id === '' || WITHHELD.test(id) ? 'anonymous' : id.slice(0, 64);
}

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

/**
 * Null when one more attempt may be evaluated at `now`, else when that becomes
 * possible: refused while locked (`lockedUntil`) and while `maxFailures`
 * failures (or attempts still being checked) lie within the last `windowMs`,
 * so that no `windowMs` span ever sees more than `maxFailures` evaluated.
 */
export function refusedUntil(
  failures: readonly number[],
  now: number,
  policy: LockoutPolicy = LOCKOUT_POLICY,
): number | null {
  const locked = lockedUntil(failures, now, policy);
  if (locked !== null) return locked;
  const recent = failures.filter((t) => t > now - policy.windowMs).sort((a, b) => a - b);
  if (recent.length < policy.maxFailures) return null;
  return (recent[recent.length - policy.maxFailures] as number) + policy.windowMs;
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
