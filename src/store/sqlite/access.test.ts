import SqliteDatabase from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrations } from '../migrations/index.ts';
import { resolveAdminToken } from '../access.ts';
import { sha256Hex } from '../secrets.ts';
import { fromFileAt001 } from './testing.ts';

describe('migration 002', () => {
  it('turns the admin token 001 kept in clear into its SHA-256', async () => {
    await fromFileAt001(
      async (_db, file) => {
        const raw = new SqliteDatabase(file);
        raw.prepare("insert into settings (key, value) values ('admin_token', 'old-plain-token')").run();
        raw.close();
      },
      async (store) => {
        expect(store.appliedMigrations).toEqual(Object.keys(migrations).filter((m) => m > '001-initial'));
        expect(await store.auth.getSetting('admin_token')).toBeNull();
        expect(await store.auth.getSetting('admin_token_sha256')).toBe(sha256Hex('old-plain-token'));
        expect(await resolveAdminToken(store.auth, undefined)).toEqual({
          sha256: sha256Hex('old-plain-token'),
        });
      },
    );
  });
});
