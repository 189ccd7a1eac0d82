import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useResource } from '../util/testing.ts';
import { openSqliteStore, type SqliteStore } from './sqlite/open.ts';

/** A fresh temporary directory and its removal (for tests that need a database file). */
export function tempDir(prefix = 'agentline-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A fresh store for each test of the enclosing `describe`, closed after it: `open` makes one,
 * `use` hands it to the test's variable.
 */
export function eachStore<S extends { close(): Promise<void> }>(
  open: () => Promise<S>,
  use: (s: S) => void,
): void {
  useResource(open, (s) => s.close(), use);
}

/** `eachStore` with a fresh in-memory SQLite store. */
export function eachMemoryStore(use: (s: SqliteStore) => void): void {
  eachStore(() => openSqliteStore(':memory:'), use);
}
