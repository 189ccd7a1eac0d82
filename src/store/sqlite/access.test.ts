import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrations } from '../migrations/index.ts';
import { resolveAdminToken } from '../access.ts';
import { sha256Hex } from '../secrets.ts';
import { tempDir } from '../test-helpers.ts';
import { openSqliteStore } from './open.ts';

describe('migration 002', () => {
  it('turns the admin token 001 kept in clear into its SHA-256', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'old.db');
      const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SqliteDatabase(file) }) });
      const only001 = new Migrator({
        db,
        provider: {
          getMigrations: async () => ({ '001-initial': migrations['001-initial'] ?? { up: async () => {} } }),
        },
      });
      expect((await only001.migrateToLatest()).error).toBeUndefined();
      const raw = new SqliteDatabase(file);
      raw.prepare("insert into settings (key, value) values ('admin_token', 'old-plain-token')").run();
      raw.close();
      await db.destroy();

      const store = await openSqliteStore(file);
      try {
        expect(store.appliedMigrations).toEqual(Object.keys(migrations).filter((m) => m > '001-initial'));
        expect(await store.auth.getSetting('admin_token')).toBeNull();
        expect(await store.auth.getSetting('admin_token_sha256')).toBe(sha256Hex('old-plain-token'));
        expect(await resolveAdminToken(store.auth, undefined)).toEqual({
          sha256: sha256Hex('old-plain-token'),
        });
      } finally {
        await store.close();
      }
    } finally {
      cleanup();
    }
  });
});
