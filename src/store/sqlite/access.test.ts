import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from '../migrations/index.ts';
import { ensureFirstAdmin, resolveAdminToken } from '../access.ts';
import { sha256Hex } from '../secrets.ts';
import type { SqliteStore } from './open.ts';
import { tempDir } from '../test-helpers.ts';
import { openSqliteStore } from './open.ts';

describe('SqliteAccessStore', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = await openSqliteStore(':memory:');
  });
  afterEach(async () => {
    await store.close();
  });

  describe('users', () => {
    it('stores a scrypt hash, verifies the password, refuses a wrong one or an unknown user', async () => {
      const u = await store.access.createUser(
        { username: 'Ann', password: 'ann-password-1', role: 'supervisor', companyIds: [2, 1, 2] },
        1000,
      );
      expect(u).toEqual({
        id: u.id,
        username: 'ann',
        role: 'supervisor',
        companyIds: [1, 2],
        createdAt: 1000,
      });
      expect(await store.access.verifyPassword('ANN', 'ann-password-1')).toEqual(u);
      expect(await store.access.verifyPassword('ann', 'ann-password-2')).toBeNull();
      expect(await store.access.verifyPassword('bob', 'ann-password-1')).toBeNull();
      await expect(
        store.access.createUser({ username: 'ann', password: 'xxxxxxxxxxxx', role: 'viewer' }, 0),
      ).rejects.toMatchObject({ code: 'conflict' });
    });

    it('refuses bad usernames, short passwords and unknown roles', async () => {
      for (const input of [
        { username: 'a b', password: 'long-enough-pw', role: 'viewer' as const },
        { username: 'ok', password: 'short', role: 'viewer' as const },
        { username: 'ok', password: 'long-enough-pw', role: 'root' as 'admin' },
      ])
        await expect(store.access.createUser(input, 0)).rejects.toMatchObject({ code: 'invalid_input' });
    });

    it('updates the password and role; deleting a user deletes their sessions', async () => {
      const u = await store.access.createUser(
        { username: 'cy', password: 'cy-password-1', role: 'viewer' },
        0,
      );
      const s = await store.access.createSession(u.id, 0, 60_000);
      expect((await store.access.findSession(s.secret, 1))?.username).toBe('cy');
      await store.access.updateUser(u.id, { password: 'cy-password-2', role: 'admin' });
      expect((await store.access.verifyPassword('cy', 'cy-password-2'))?.role).toBe('admin');
      await store.access.deleteUser(u.id);
      expect(await store.access.findSession(s.secret, 1)).toBeNull();
      await expect(store.access.deleteUser(u.id)).rejects.toMatchObject({ code: 'not_found' });
    });
  });

  describe('sessions', () => {
    it('expire, and only a hash of the id is stored', async () => {
      const u = await store.access.createUser(
        { username: 'di', password: 'di-password-1', role: 'viewer' },
        0,
      );
      const s = await store.access.createSession(u.id, 1000, 10_000);
      expect(s.expiresAt).toBe(11_000);
      expect(await store.access.findSession(s.secret, 10_999)).not.toBeNull();
      expect(await store.access.findSession(s.secret, 11_000)).toBeNull();
      expect(await store.access.findSession('forged', 5000)).toBeNull();
      await store.access.deleteSession(s.secret);
      expect(await store.access.findSession(s.secret, 5000)).toBeNull();
    });
  });

  describe('tokens', () => {
    it('are found by their secret, note their use, and are revoked', async () => {
      const { token, secret } = await store.access.createToken(
        { name: 'ci', role: 'viewer', companyIds: [1] },
        5,
      );
      expect(token).toMatchObject({ name: 'ci', role: 'viewer', companyIds: [1], lastUsedAt: null });
      expect((await store.access.findToken(secret, 99))?.lastUsedAt).toBe(99);
      expect(await store.access.findToken(secret + 'x', 99)).toBeNull();
      await store.access.deleteToken(token.id);
      expect(await store.access.findToken(secret, 100)).toBeNull();
    });
  });

  describe('audit log', () => {
    it('is read newest first and paged back with before', async () => {
      for (let i = 0; i < 5; i++)
        await store.access.appendAudit({
          at: i,
          actorKind: 'user',
          actor: 'ann',
          method: 'POST',
          route: '/api/v1/agents/:login/state',
          params: { login: `100${i}` },
          status: 200,
          source: '127.0.0.1',
        });
      const page1 = await store.access.listAudit({ limit: 2 });
      expect(page1.map((e) => e.params.login)).toEqual(['1004', '1003']);
      const page2 = await store.access.listAudit({ limit: 2, before: page1[1]?.id });
      expect(page2.map((e) => e.params.login)).toEqual(['1002', '1001']);
    });
  });

  describe('start-up', () => {
    it('a generated admin token is stored as its SHA-256 only; a configured one is not stored', async () => {
      const first = await resolveAdminToken(store.auth, undefined);
      expect(first.generated).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await store.auth.getSetting('admin_token_sha256')).toBe(sha256Hex(first.generated ?? ''));
      const again = await resolveAdminToken(store.auth, undefined);
      expect(again).toEqual({ sha256: first.sha256 });
      expect(await resolveAdminToken(store.auth, 'configured-token')).toEqual({
        sha256: sha256Hex('configured-token'),
      });
    });

    it('the first admin user is created once', async () => {
      const admin = await ensureFirstAdmin(store.access, 0);
      expect(admin?.username).toBe('admin');
      expect((await store.access.verifyPassword('admin', admin?.password ?? ''))?.role).toBe('admin');
      expect(await ensureFirstAdmin(store.access, 0)).toBeNull();
    });
  });
});

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
