import type { Store } from '../store.ts';
import { KyselyAccessStore } from './access.ts';
import { KyselyAgentStateStore } from './agent-states.ts';
import { KyselyAuthStore } from './auth.ts';
import { KyselyCallRecordStore } from './call-records.ts';
import type { KyselyDialect } from './dialect.ts';
import { KyselyDirectoryStore } from './directory.ts';
import { KyselyRecordingStore } from './recordings.ts';
import { KyselyTrunkStore } from './trunks.ts';

export type { KyselyDialect, MapDbError, PinAttemptLedger } from './dialect.ts';
export type { Database } from './schema.ts';

/** The Store's parts over one Kysely database; the dialect supplies what differs. */
export function kyselyStores(d: KyselyDialect): Omit<Store, 'close'> {
  return {
    directory: new KyselyDirectoryStore(d.db, d.mapDbError, d.pinAttempts),
    agentStates: new KyselyAgentStateStore(d.db),
    calls: new KyselyCallRecordStore(d.db, d.mapDbError),
    auth: new KyselyAuthStore(d.db),
    access: new KyselyAccessStore(d.db, d.mapDbError),
    trunks: new KyselyTrunkStore(d.db, d.mapDbError),
    recordings: new KyselyRecordingStore(d.db),
  };
}
