import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrationProvider } from '../migrations/index.ts';
import { tempDir } from '../test-helpers.ts';
import { LOCKOUT_POLICY } from '../lockout.ts';
import { openSqliteStore } from './open.ts';

// The lockout's behaviour is in ../store.contract.test.ts; this is SQLite's migration of old files.
const T0 = Date.UTC(2024, 0, 1, 9, 0);
const LOCK = LOCKOUT_POLICY.lockMs;

describe('migration 003-pin-attempts', () => {
  it('keeps failures recorded before it as evaluated wrong PINs', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'old.db');
      const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SqliteDatabase(file) }) });
      const r = await new Migrator({ db, provider: migrationProvider }).migrateTo('001-initial');
      expect(r.error).toBeUndefined();
      await sql`insert into login_failures (login, at) values ('1001', ${T0}), ('1001', ${T0 + 1})`.execute(
        db,
      );
      await db.destroy();

      const store = await openSqliteStore(file);
      try {
        expect(store.appliedMigrations).toContain('003-pin-attempts');
        expect(await store.auth.listLoginFailures('1001', 0)).toEqual([T0, T0 + 1]);
        for (let i = 0; i < 3; i++)
          await store.directory.attemptPin({ login: '1001', pin: '0000', at: T0 + 2 + i, callerId: null });
        expect(await store.directory.pinLockedUntil('1001', '+79001', T0 + 10)).toBe(T0 + 4 + LOCK);
      } finally {
        await store.close();
      }
    } finally {
      cleanup();
    }
  });
});
