import { sql } from 'kysely';
import type { Serialised } from '../kysely/pin-attempts.ts';

/**
 * Runs `fn` as one `BEGIN IMMEDIATE` transaction. `db.connection()` holds
 * Kysely's only SQLite connection for the whole callback, so no other query of
 * this process runs in between; IMMEDIATE takes the write lock at the start, so
 * another process on the same file cannot slip in between our read and write.
 */
export const immediate: Serialised = (db, fn) =>
  db.connection().execute(async (c) => {
    await sql`begin immediate`.execute(c);
    let result;
    try {
      result = await fn(c);
    } catch (err) {
      // SQLite may already have rolled back (e.g. SQLITE_FULL); the first error is the one to report.
      await sql`rollback`.execute(c).catch(() => undefined);
      throw err;
    }
    await sql`commit`.execute(c);
    return result;
  });
