import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from './errors.ts';

/** Where the store lives, as `--db` names it. */
export type DbLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/**
 * `--db`: `file:/path` or `file:///path`, a plain path, or `:memory:` → SQLite;
 * `postgres://…` / `postgresql://…` → PostgreSQL. Anything else with a scheme is refused
 * rather than taken for a file name.
 */
export function parseDbUrl(value: string): DbLocation {
  if (value === ':memory:' || value === 'file::memory:') return { kind: 'sqlite', path: ':memory:' };
  if (/^postgres(ql)?:\/\//i.test(value)) return { kind: 'postgres', url: value };
  if (/^file:\/\//i.test(value)) return { kind: 'sqlite', path: fileURLToPath(value) };
  if (/^file:/i.test(value)) {
    const path = value.slice('file:'.length);
    if (path === '') throw new AppError('invalid_config', 'file: needs a path (file:/var/lib/agentline.db)');
    return { kind: 'sqlite', path };
  }
  // Two letters or more before "://" is a scheme (one letter could be a Windows drive).
  const scheme = /^([a-z][a-z0-9+.-]+):\/\//i.exec(value);
  if (scheme)
    throw new AppError(
      'invalid_config',
      `unknown database URL scheme ${scheme[1]}: (file:/path, a path, :memory: or postgres://)`,
    );
  return { kind: 'sqlite', path: value };
}

/**
 * Where call recordings go unless --recordings-dir says: a `recordings` folder beside a SQLite
 * file; `./data/recordings` for PostgreSQL (the default database's folder); a folder in the
 * system's temporary directory for an in-memory database (nothing is kept anyway).
 */
export function defaultRecordingsDir(db: string, tmp: string): string {
  const loc = parseDbUrl(db);
  if (loc.kind === 'postgres') return join('data', 'recordings');
  if (loc.path === ':memory:') return join(tmp, 'agentline-recordings');
  return join(dirname(loc.path), 'recordings');
}
