import type { Migration, MigrationProvider } from 'kysely';
import { m001Initial } from './001-initial.ts';
import { m002Users } from './002-users.ts';
import { m003PinAttempts } from './003-pin-attempts.ts';
import { m004Trunks } from './004-trunks.ts';
import { m005SipPhones } from './005-sip-phones.ts';
import { m006TrunkFormats } from './006-trunk-formats.ts';
import { m007Srtp } from './007-srtp.ts';
import { m008CallJourney } from './008-call-journey.ts';
import { m009Supervisor } from './009-supervisor.ts';
import { m010Recordings } from './010-recordings.ts';
import { m011SharedLive } from './011-shared-live.ts';

/**
 * Every migration, by name. Names sort in the order they run; never rename or
 * edit a migration that has shipped — add a new one.
 */
export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  '001-initial': m001Initial,
  '002-users': m002Users,
  '003-pin-attempts': m003PinAttempts,
  '004-trunks': m004Trunks,
  '005-sip-phones': m005SipPhones,
  '006-trunk-formats': m006TrunkFormats,
  '007-srtp': m007Srtp,
  '008-call-journey': m008CallJourney,
  '009-supervisor': m009Supervisor,
  '010-recordings': m010Recordings,
  '011-shared-live': m011SharedLive,
});

/** A static provider (no folder scan: works the same under tsx, bundlers and tests). */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
};
