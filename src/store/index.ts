import { openPostgresStore, type PostgresOptions } from './postgres/open.ts';
import { openSqliteStore } from './sqlite/open.ts';
import { parseDbUrl } from '../util/db-url.ts';
import type { Store } from './store.ts';

export type * from './store.ts';
export { openSqliteStore, type SqliteStore } from './sqlite/open.ts';
export { openPostgresStore, type PostgresStore } from './postgres/open.ts';
export { parseDbUrl, type DbLocation } from '../util/db-url.ts';
export {
  DEFAULT_COMPANY_SETTINGS,
  companySettingsSchema,
  companySettingsPatchSchema,
  parseCompanySettings,
  mergeCompanySettings,
  destinationAllowed,
} from './company-settings.ts';
export { hashPin, verifyPinHash, isPinFormatValid, isWeakPin, pinProblem, type PinProblem } from './pin.ts';
export { LOCKOUT_POLICY, lockedUntil, loginLockedUntil, type LockoutPolicy } from './lockout.ts';
export { computeHa1 } from './sip-credentials.ts';
export { seedDemo, DEMO, type SeedResult } from './seed.ts';

/**
 * Opens the store `--db` names — the one place an implementation is picked: `file:/path`, a
 * path or `:memory:` → SQLite; `postgres://…` → PostgreSQL (`options` apply to it alone).
 */
export async function openStore(db: string, options: PostgresOptions = {}): Promise<Store> {
  const at = parseDbUrl(db);
  if (at.kind === 'postgres') return openPostgresStore(at.url, options);
  return openSqliteStore(at.path);
}
