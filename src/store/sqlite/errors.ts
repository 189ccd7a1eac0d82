import { AppError } from '../../util/errors.ts';

/** Turns SQLite constraint errors into AppErrors; rethrows everything else unchanged. */
export function mapDbError(err: unknown): never {
  if (err instanceof AppError) throw err;
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    throw new AppError('conflict', `already exists: ${(err as Error).message}`, { cause: err });
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
    throw new AppError('invalid_reference', 'refers to a row that does not exist', { cause: err });
  }
  throw err;
}
