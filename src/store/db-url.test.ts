import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.ts';
import { parseDbUrl } from '../util/db-url.ts';
import { openStore } from './index.ts';
import { tempDir } from './test-helpers.ts';

describe('--db URL', () => {
  it('file:, a plain path and :memory: are SQLite; postgres:// is PostgreSQL', () => {
    expect(parseDbUrl('./data/agentline.db')).toEqual({ kind: 'sqlite', path: './data/agentline.db' });
    expect(parseDbUrl('file:/var/lib/a.db')).toEqual({ kind: 'sqlite', path: '/var/lib/a.db' });
    expect(parseDbUrl('file:///var/lib/a%20b.db')).toEqual({ kind: 'sqlite', path: '/var/lib/a b.db' });
    expect(parseDbUrl('file:rel/a.db')).toEqual({ kind: 'sqlite', path: 'rel/a.db' });
    expect(parseDbUrl(':memory:')).toEqual({ kind: 'sqlite', path: ':memory:' });
    expect(parseDbUrl('file::memory:')).toEqual({ kind: 'sqlite', path: ':memory:' });
    for (const url of ['postgres://al@127.0.0.1/agentline', 'postgresql://127.0.0.1:5433/x'])
      expect(parseDbUrl(url)).toEqual({ kind: 'postgres', url });
  });

  it('refuses an unknown scheme and an empty file:', () => {
    expect(() => parseDbUrl('mysql://127.0.0.1/x')).toThrow(/unknown database URL scheme mysql/);
    expect(() => parseDbUrl('file:')).toThrow(/file: needs a path/);
  });

  it('postgres:// is a valid --db; a server that cannot be reached fails the open, password not shown', async () => {
    expect(loadConfig(['--db', 'postgres://127.0.0.1/agentline'], {}).db).toBe(
      'postgres://127.0.0.1/agentline',
    );
    // Port 1 on loopback: nothing listens there.
    const open = openStore('postgres://al:hunter22@127.0.0.1:1/agentline');
    await expect(open).rejects.toMatchObject({ code: 'store_unavailable' });
    await expect(open).rejects.toThrow(
      'cannot connect to PostgreSQL at postgres://al:***@127.0.0.1:1/agentline',
    );
    await expect(open).rejects.not.toThrow(/hunter22/);
  });

  it('openStore opens the SQLite file a file: URL names', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = join(dir, 'sub', 'agentline.db');
      const store = await openStore(`file:${file}`);
      await store.directory.createCompany({ name: 'Acme' });
      await store.close();
      expect(existsSync(file)).toBe(true);
      const again = await openStore(file);
      expect((await again.directory.listCompanies()).map((c) => c.name)).toEqual(['Acme']);
      await again.close();
    } finally {
      cleanup();
    }
  });
});
