import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import SqliteDatabase from 'better-sqlite3';
import { ConfigError, configSchema } from '../config/config.ts';
import { parseDbUrl } from '../util/db-url.ts';

export interface BackupResult {
  source: string;
  dest: string;
  pages: number;
  bytes: number;
}

/**
 * `agentline backup <dest-file> [--db FILE]`: a consistent copy of the SQLite
 * database through SQLite's online backup API (better-sqlite3 `.backup()`),
 * safe while the server runs and writes. The copy is written beside the
 * destination, checked (`PRAGMA integrity_check`), turned into a single
 * self-contained file (rollback journal, no -wal) and only then renamed onto
 * the destination, so a half-written backup never carries the final name.
 */
export async function runBackup(argv: string[], env: NodeJS.ProcessEnv): Promise<BackupResult> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { db: { type: 'string' } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 1)
    throw new ConfigError('usage: agentline backup <dest-file> [--db FILE] (one destination file)');
  const dbArg = values.db ?? (env.AGENTLINE_DB || configSchema.shape.db.parse(undefined));
  let file: string;
  try {
    const at = parseDbUrl(dbArg);
    if (at.kind !== 'sqlite')
      throw new Error('agentline backup copies a SQLite file; back PostgreSQL up with pg_dump');
    file = at.path;
  } catch (err) {
    throw new ConfigError(`--db: ${(err as Error).message}`);
  }
  const source = path.resolve(file);
  const dest = path.resolve(positionals[0]!);
  if (file === ':memory:') throw new ConfigError('a :memory: database cannot be backed up');
  if (!existsSync(source)) throw new ConfigError(`no database at ${source} (give it with --db FILE)`);
  if (dest === source) throw new ConfigError('the backup must not be the database itself');

  mkdirSync(path.dirname(dest), { recursive: true });
  const partial = `${dest}.partial-${process.pid}`;
  rmSync(partial, { force: true });
  const db = new SqliteDatabase(source, { fileMustExist: true });
  let pages: number;
  try {
    // The server holds its write lock only for short transactions.
    db.pragma('busy_timeout = 5000');
    // One step copies every page under one read transaction: with WAL the server's writers are
    // not blocked, and a write between steps (which makes SQLite restart the copy) cannot happen.
    const progress = await db.backup(partial, { progress: () => 0x7fffffff });
    pages = progress.totalPages;
  } finally {
    db.close();
  }
  try {
    const copy = new SqliteDatabase(partial, { fileMustExist: true });
    try {
      const check = copy.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new Error(`the copy failed its integrity check: ${String(check)}`);
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    renameSync(partial, dest);
  } catch (err) {
    for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
    throw err;
  }
  return { source, dest, pages, bytes: statSync(dest).size };
}
