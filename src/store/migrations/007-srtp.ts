import type { Migration } from 'kysely';
import { addedTextColumns } from './columns.ts';

/**
 * SRTP policy (issue 10 item 4): per trunk and per SIP account, `off`, `optional` or
 * `mandatory` (call/sdp.ts says what each does). Default optional: RTP/SAVP offers are
 * answered with SRTP, our offers stay RTP/AVP — what every row meant before.
 */
export const m007Srtp: Migration = addedTextColumns([
  ['trunks', 'srtp', 'optional'],
  ['sip_accounts', 'srtp', 'optional'],
]);
