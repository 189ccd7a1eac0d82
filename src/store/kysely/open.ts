import { Migrator } from 'kysely';
import { AppError } from '../../util/errors.ts';
import { migrationProvider } from '../migrations/index.ts';
import type { Store } from '../store.ts';
import type { KyselyDialect } from './dialect.ts';
import { kyselyStores } from './index.ts';

export interface KyselyStore extends Store {
  /** Names of the migrations applied at open (empty when the schema was current). */
  readonly appliedMigrations: readonly string[];
}

/**
 * Brings the dialect's database up to date (migrations 001… in order; Kysely's migration lock
 * keeps two processes opening at once from both running them) and builds the Store over it.
 * `close` destroys the Kysely instance (the driver's connections) once.
 */
export async function openKyselyStore(d: KyselyDialect): Promise<KyselyStore> {
  const { db } = d;
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error !== undefined) {
    await db.destroy();
    throw new AppError('migration_failed', `database migration failed: ${describe(error)}`, { cause: error });
  }
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);

  let closed = false;
  return {
    ...kyselyStores(d),
    appliedMigrations: applied,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
