import { existsSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../migrations/index.ts';
import { tempDir } from '../test-helpers.ts';
import { openSqliteStore } from './open.ts';

const TABLES = [
  'agent_departments',
  'agent_state_history',
  'agent_states',
  'agents',
  'api_tokens',
  'audit_log',
  'cdr',
  'companies',
  'departments',
  'login_failures',
  'numbers',
  'queue_events',
  'recordings',
  'sessions',
  'settings',
  'sip_accounts',
  'sip_bindings',
  'trunks',
  'users',
];

function tablesOf(file: string): string[] {
  const db = new SqliteDatabase(file, { readonly: true });
  try {
    const rows = db
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' order by name",
      )
      .all() as { name: string }[];
    return rows.map((r) => r.name);
  } finally {
    db.close();
  }
}

describe('openSqliteStore', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    while (cleanups.length) cleanups.pop()?.();
  });

  it('runs every migration on :memory: and gives a working store', async () => {
    const store = await openSqliteStore(':memory:');
    try {
      expect(store.appliedMigrations).toEqual(Object.keys(migrations));
      const c = await store.directory.createCompany({ name: 'X' });
      expect(c.settings.ringSeconds).toBe(20);
      expect(await store.directory.listCompanies()).toHaveLength(1);
    } finally {
      await store.close();
    }
  });

  it('creates the parent directory, uses WAL, migrates once, keeps data across reopen', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, 'nested', 'deeper', 'agentline.db');

    const first = await openSqliteStore(file);
    expect(existsSync(file)).toBe(true);
    expect(first.appliedMigrations).toEqual(Object.keys(migrations));
    await first.directory.createCompany({ name: 'Kept' });
    await first.close();
    await first.close(); // idempotent

    expect(tablesOf(file)).toEqual(TABLES);
    const raw = new SqliteDatabase(file);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();

    const second = await openSqliteStore(file);
    try {
      expect(second.appliedMigrations).toEqual([]);
      expect((await second.directory.listCompanies()).map((c) => c.name)).toEqual(['Kept']);
    } finally {
      await second.close();
    }
  });

  it('migrations can be rolled back (down) to an empty schema', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = join(dir, 'a.db');
    await (await openSqliteStore(file)).close();
    const { Kysely, SqliteDialect, Migrator, NO_MIGRATIONS } = await import('kysely');
    const { migrationProvider } = await import('../migrations/index.ts');
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SqliteDatabase(file) }) });
    const r = await new Migrator({ db, provider: migrationProvider }).migrateTo(NO_MIGRATIONS);
    await db.destroy();
    expect(r.error).toBeUndefined();
    expect(tablesOf(file)).toEqual([]);
  });
});
