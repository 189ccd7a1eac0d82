import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../kysely/index.ts';
import { openKyselyStore, type KyselyStore } from '../kysely/open.ts';
import { KyselyPinAttempts } from '../kysely/pin-attempts.ts';
import { mapDbError } from './errors.ts';
import { immediate } from './immediate.ts';
import { withStatementCache } from './statement-cache.ts';

export type SqliteStore = KyselyStore;

/**
 * Opens (creating if needed) the SQLite database at `path` — `':memory:'` for a
 * throw-away one — and brings its schema up to date. Files use WAL mode and
 * their parent directory is created.
 */
export async function openSqliteStore(path: string): Promise<SqliteStore> {
  const memory = path === ':memory:' || path === '';
  if (!memory) mkdirSync(dirname(resolve(path)), { recursive: true });
  const sqlite = new SqliteDatabase(path);
  try {
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    if (!memory) {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
    }
  } catch (err) {
    sqlite.close();
    throw err;
  }
  // Destroying the Kysely instance closes the better-sqlite3 handle (checkpoints the WAL).
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return openKyselyStore({ db, mapDbError, pinAttempts: new KyselyPinAttempts(db, immediate) });
}
