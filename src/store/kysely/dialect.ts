import type { Kysely } from 'kysely';
import { AppError } from '../../util/errors.ts';
import type { PinAttempt, PinAttemptResult } from '../store.ts';
import type { Database } from './schema.ts';

/**
 * What a dialect (src/store/sqlite/, later src/store/postgres/) hands the shared Kysely stores:
 * the parts whose SQL or driver errors differ between databases.
 */

/** Turns the driver's constraint errors into AppErrors (`conflict`, `invalid_reference`); rethrows the rest. */
export type MapDbError = (err: unknown) => never;

/** The driver's `code`s of a unique-key and of a foreign-key violation. */
export interface ConstraintCodes {
  unique: readonly string[];
  foreignKey: readonly string[];
}

/** A MapDbError for a driver that names constraint violations in `err.code`. */
export function constraintErrors(codes: ConstraintCodes): MapDbError {
  return (err) => {
    if (err instanceof AppError) throw err;
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    if (codes.unique.includes(code))
      throw new AppError('conflict', `already exists: ${(err as Error).message}`, { cause: err });
    if (codes.foreignKey.includes(code))
      throw new AppError('invalid_reference', 'refers to a row that does not exist', { cause: err });
    throw err;
  };
}

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
