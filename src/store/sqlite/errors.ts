import { constraintErrors } from '../kysely/dialect.ts';

/** Turns SQLite constraint errors into AppErrors; rethrows everything else unchanged. */
export const mapDbError = constraintErrors({
  unique: ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY'],
  foreignKey: ['SQLITE_CONSTRAINT_FOREIGNKEY'],
});
