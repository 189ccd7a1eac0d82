import { constraintErrors } from '../kysely/dialect.ts';

/** PostgreSQL's SQLSTATEs unique_violation and foreign_key_violation as AppErrors. */
export const mapDbError = constraintErrors({ unique: ['23505'], foreignKey: ['23503'] });
