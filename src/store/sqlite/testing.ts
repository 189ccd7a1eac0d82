/** For SQLite's own tests: a database file as an older AgentLine left it. */
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { expect } from 'vitest';
import { migrationProvider } from '../migrations/index.ts';
import { tempDir } from '../test-helpers.ts';
import { openSqliteStore, type SqliteStore } from './open.ts';

/**
 * A file migrated up to 001 only, given its old rows by `prepare`, then opened as today's store
 * (which runs the later migrations) for `check`; everything is closed and removed after.
 */
export async function fromFileAt001(
  prepare: (db: Kysely<unknown>, file: string) => Promise<void>,
  check: (store: SqliteStore) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'old.db');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SqliteDatabase(file) }) });
    expect(
      (await new Migrator({ db, provider: migrationProvider }).migrateTo('001-initial')).error,
    ).toBeUndefined();
    await prepare(db, file);
    await db.destroy();
    const store = await openSqliteStore(file);
    try {
      await check(store);
    } finally {
      await store.close();
    }
  } finally {
    cleanup();
  }
}
