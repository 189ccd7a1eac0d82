export type * from './store.ts';
export { openSqliteStore, type SqliteStore } from './sqlite/open.ts';
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
