import type { Migration } from 'kysely';
import { addedTextColumns } from './columns.ts';

/**
 * The call journey (issue 14 item 1): every department a call was queued in, in order (JSON
 * number[]; the first is where it entered, the last where it ended), and each agent's own talk
 * time (JSON [{agentId, talkSeconds}]), so a transferred call credits nobody with another's
 * conversation. Rows written before are left with empty lists.
 */
export const m008CallJourney: Migration = addedTextColumns([
  ['cdr', 'department_ids', '[]'],
  ['cdr', 'agent_talk', '[]'],
]);
