import type { Kysely } from 'kysely';
import {
  CALLER_LOCKOUT_POLICY,
  LOCKOUT_POLICY,
  lockedUntil,
  normaliseCallerId,
  refusedUntil,
} from '../lockout.ts';
import type { LockoutPolicy } from '../lockout.ts';
import { dummyPinHash, verifyPinHash } from '../pin.ts';
import type { PinAttempt, PinAttemptResult } from '../store.ts';
import type { Database } from './schema.ts';

/** Rows older than this are pruned when a wrong PIN is recorded (as `KyselyAuthStore` does). */
const KEEP_FAILURES_MS = 24 * 3600_000;

export interface PinLockoutPolicies {
  login: LockoutPolicy;
  caller: LockoutPolicy;
}

type Refusal = Extract<PinAttemptResult, { result: 'locked' }>;
type Db = Kysely<Database>;

/**
 * Runs `fn` as one transaction that no other PIN ledger transaction (of this process or another
 * on the same database) interleaves with: the read of the locks and the write of the attempt are
 * one step. How is the dialect's own (SQLite `BEGIN IMMEDIATE`, PostgreSQL an advisory lock).
 * `fn` must not await anything but its own queries (no hashing in here).
 */
export type Serialised = <T>(db: Db, fn: (c: Db) => Promise<T>) => Promise<T>;

/**
 * PIN logins against `login_failures` (SPEC §4, issue 11). Three steps:
 * 1. one transaction checks the login's and the caller id's locks — counting
 *    attempts still being checked as failures — and, if neither refuses,
 *    inserts a `pending` row: the attempt is counted before it is evaluated;
 * 2. scrypt, outside any transaction (tens of ms: holding the connection that
 *    long would stall every other query);
 * 3. one transaction settles the row: `wrong` stays, a right PIN deletes the
 *    login's settled failures and its own row (other calls' pending rows stay:
 *    they are still being checked and count if wrong).
 * So 150 simultaneous calls get 5 reservations and 145 refusals, whatever the
 * interleaving; a crash between 1 and 3 leaves a `pending` row that counts
 * (fails closed).
 */
export class KyselyPinAttempts {
  constructor(
    private readonly db: Db,
    private readonly serialised: Serialised,
    private readonly policies: PinLockoutPolicies = { login: LOCKOUT_POLICY, caller: CALLER_LOCKOUT_POLICY },
  ) {}

  async attempt(a: PinAttempt): Promise<PinAttemptResult> {
    const caller = normaliseCallerId(a.callerId);
    const reserved = await this.serialised(
      this.db,
      async (c): Promise<Refusal | { id: number; hash: string | null }> => {
        const refusal = await this.refusal(c, a.login, caller, a.at);
        if (refusal) return refusal;
        const agent = await c
          .selectFrom('agents')
          .select('pin_hash')
          .where('login', '=', a.login)
          .executeTakeFirst();
        const row = await c
          .insertInto('login_failures')
          .values({ login: a.login, at: a.at, caller_id: caller, outcome: 'pending' })
          .returning('id')
          .executeTakeFirstOrThrow();
        return { id: row.id, hash: agent?.pin_hash ?? null };
      },
    );
    if ('result' in reserved) return reserved;

    // Unknown login: the same work on a dummy hash, then refuse (and it stays counted).
    const matches = await verifyPinHash(a.pin, reserved.hash ?? (await dummyPinHash()));
    const ok = matches && reserved.hash !== null;

    return this.serialised(this.db, async (c): Promise<PinAttemptResult> => {
      if (ok) {
        await c
          .deleteFrom('login_failures')
          .where('login', '=', a.login)
          .where((eb) => eb.or([eb('outcome', '<>', 'pending'), eb('id', '=', reserved.id)]))
          .execute();
        return { result: 'ok' };
      }
      const loginWrong = await this.times(c, 'login', a.login, a.at, this.policies.login, true);
      const callerWrong = await this.times(c, 'caller_id', caller, a.at, this.policies.caller, true);
      await c.updateTable('login_failures').set({ outcome: 'wrong' }).where('id', '=', reserved.id).execute();
      await c
        .deleteFrom('login_failures')
        .where('at', '<', a.at - KEEP_FAILURES_MS)
        .execute();
      return {
        result: 'wrong',
        lockedLogin: becomesLocked(loginWrong, a.at, this.policies.login),
        lockedCaller: becomesLocked(callerWrong, a.at, this.policies.caller),
      };
    });
  }

  async lockedUntil(login: string, callerId: string | null, now: number): Promise<number | null> {
    const caller = normaliseCallerId(callerId);
    const { login: lp, caller: cp } = this.policies;
    const byLogin = refusedUntil(await this.times(this.db, 'login', login, now, lp), now, lp);
    const byCaller = refusedUntil(await this.times(this.db, 'caller_id', caller, now, cp), now, cp);
    if (byLogin === null) return byCaller;
    return byCaller === null ? byLogin : Math.max(byLogin, byCaller);
  }

  private async refusal(c: Db, login: string, caller: string, now: number): Promise<Refusal | null> {
    const { login: lp, caller: cp } = this.policies;
    const byLogin = refusedUntil(await this.times(c, 'login', login, now, lp), now, lp);
    if (byLogin !== null) return { result: 'locked', by: 'login', until: byLogin };
    const byCaller = refusedUntil(await this.times(c, 'caller_id', caller, now, cp), now, cp);
    if (byCaller !== null) return { result: 'locked', by: 'caller', until: byCaller };
    return null;
  }

  /**
   * Times of the rows that can still lock at `now`: wrong PINs and attempts being
   * checked, or with `settledOnly` the wrong PINs alone (to tell which failure
   * completed a lock).
   */
  private async times(
    c: Db,
    column: 'login' | 'caller_id',
    key: string,
    now: number,
    policy: LockoutPolicy,
    settledOnly = false,
  ): Promise<number[]> {
    let q = c
      .selectFrom('login_failures')
      .select('at')
      .where(column, '=', key)
      .where('at', '>=', now - policy.windowMs - policy.lockMs);
    if (settledOnly) q = q.where('outcome', '=', 'wrong');
    return (await q.execute()).map((r) => r.at);
  }
}

/** Whether adding a wrong PIN at `at` to the settled ones turns the lock on. */
function becomesLocked(settled: number[], at: number, policy: LockoutPolicy): boolean {
  return lockedUntil(settled, at, policy) === null && lockedUntil([...settled, at], at, policy) !== null;
}
