import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { AppError } from '../../util/errors.ts';
import type { Database } from '../kysely/index.ts';
import { openKyselyStore, type KyselyStore } from '../kysely/open.ts';
import { KyselyPinAttempts } from '../kysely/pin-attempts.ts';
import { advisoryLocked } from './advisory.ts';
import { mapDbError } from './errors.ts';

export type PostgresStore = KyselyStore;

export interface PostgresOptions {
  /** Told of a pooled connection that failed while idle (the pool replaces it). */
  onIdleError?: (err: Error) => void;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
}

const INT8_OID = 20;

/**
 * Epoch-ms times are `bigint` columns (and `count(*)` is bigint); pg reads int8 as a string to
 * keep 64 bits. Every value we store is below 2^53, so read it as a number — for this pool only,
 * not by changing pg's global parsers.
 */
const defaultParser = pg.types.getTypeParser as (oid: number, format: 'text' | 'binary') => unknown;
const types = {
  getTypeParser: ((oid: number, format: 'text' | 'binary' = 'text') =>
    oid === INT8_OID && format === 'text'
      ? (v: string) => Number(v)
      : defaultParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * Connects to the PostgreSQL database `url` names (`postgres://user[:password]@host[:port]/db`),
 * brings its schema up to date and returns the Store over a connection pool. Nothing here
 * blocks the event loop: the driver is asynchronous throughout.
 */
export async function openPostgresStore(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
  const pool = new pg.Pool({ connectionString: url, types, max: options.maxConnections ?? 10 });
  // Without a listener an idle connection's error (server restart) would crash the process.
  pool.on('error', (err) => options.onIdleError?.(err));
  try {
    (await pool.connect()).release();
  } catch (err) {
    await pool.end();
    throw new AppError(
      'store_unavailable',
      `cannot connect to PostgreSQL at ${redacted(url)}: ${String(err)}`,
      {
        cause: err,
      },
    );
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return openKyselyStore({ db, mapDbError, pinAttempts: new KyselyPinAttempts(db, advisoryLocked) });
}

/** The URL without its password (it goes into error messages and logs). */
export function redacted(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}
