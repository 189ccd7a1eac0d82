import type { Migration } from 'kysely';
import { addedTextColumns } from './columns.ts';

/**
 * Per-trunk number format on outbound calls (`e164_plus` keeps what every
 * trunk did before) and inband DTMF detection (`auto` follows the server's
 * `--inband-dtmf`). The company's country lives in its settings JSON, whose
 * missing keys take their defaults (RU), so it needs no column.
 */
export const m006TrunkFormats: Migration = addedTextColumns([
  ['trunks', 'number_format', 'e164_plus'],
  ['trunks', 'inband_dtmf', 'auto'],
]);
