import type { Kysely } from 'kysely';
import type { PinAttempt, PinAttemptResult } from '../store.ts';
import type { Database } from './schema.ts';

/**
 * What a dialect (src/store/sqlite/, later src/store/postgres/) hands the shared Kysely stores:
 * the parts whose SQL or driver errors differ between databases.
 */

/** Turns the driver's constraint errors into AppErrors (`conflict`, `invalid_reference`); rethrows the rest. */
export type MapDbError = (err: unknown) => never;

/** PIN logins with lockout, counted atomically (the locking is the dialect's own). */
export interface PinAttemptLedger {
  attempt(a: PinAttempt): Promise<PinAttemptResult>;
  lockedUntil(login: string, callerId: string | null, now: number): Promise<number | null>;
}

export interface KyselyDialect {
  readonly db: Kysely<Database>;
  readonly mapDbError: MapDbError;
  readonly pinAttempts: PinAttemptLedger;
}
