import { sql } from 'kysely';
import type { Serialised } from '../kysely/pin-attempts.ts';

/** The PIN ledger's advisory lock key ("ALPN"): one per database, whatever node holds it. */
const PIN_LEDGER_LOCK = 0x414c504e;

/**
 * Runs `fn` in a transaction holding a transaction-scoped advisory lock, so PIN ledger steps of
 * every process on the database run one after another — what `BEGIN IMMEDIATE` gives SQLite.
 * Under READ COMMITTED each statement then sees the rows the previous holder committed.
 */
export const advisoryLocked: Serialised = (db, fn) =>
  db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(PIN_LEDGER_LOCK)})`.execute(trx);
    return fn(trx);
  });
