import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { AppError } from '../../util/errors.ts';
import { migrationProvider } from '../migrations/index.ts';
import type { Store } from '../store.ts';
import { kyselyStores, type Database } from '../kysely/index.ts';
import { mapDbError } from './errors.ts';
import { SqlitePinAttempts } from './pin-attempts.ts';

export interface SqliteStore extends Store {
  /** Names of the migrations applied at open (empty when the schema was current). */
  readonly appliedMigrations: readonly string[];
}

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
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });

  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    await db.destroy();
    throw new AppError('migration_failed', `database migration failed: ${describe(error)}`, { cause: error });
  }
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);

  let closed = false;
  return {
    ...kyselyStores({ db, mapDbError, pinAttempts: new SqlitePinAttempts(db) }),
    appliedMigrations: applied,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy(); // closes the better-sqlite3 handle (checkpoints the WAL)
    },
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
