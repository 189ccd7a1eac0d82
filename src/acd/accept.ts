import type { Leg } from '../call/leg.ts';
import type { Sounds } from '../call/sounds.ts';
import type { CompanySettings } from '../store/store.ts';
import { digitsToPromptIds } from '../call/prompts.ts';

/**
 * Why an answered agent leg did not take the call: no key in time, another
 * key, or the agent's side hung up first. Every one of them counts as the
 * agent not answering the offer.
 */
export type AcceptVerdict = 'accepted' | 'timeout' | 'wrong_key' | 'hangup';

/**
 * The accept key (company setting `acceptCall: key`): an answered agent leg
 * hears `lead` (the whisper: the department code) and "To take the call,
 * press N", then has `acceptSeconds` to press `acceptKey`. Only that key lets
 * the customer through, so a voicemail box or an answering machine that picks
 * up the agent's mobile never gets the customer (FreeSWITCH's
 * `group_confirm_key`, Asterisk's confirm macros).
 *
 * The prompts may be interrupted by a key (an agent who knows the drill need
 * not listen to them), and the key stays buffered for the collection; the
 * time runs from the end of the prompt so a long department code never eats
 * into it.
 */
export async function awaitAcceptance(
  leg: Leg,
  settings: Pick<CompanySettings, 'language' | 'acceptKey' | 'acceptSeconds'>,
  sounds: Sounds,
  lead: readonly string[],
): Promise<AcceptVerdict> {
  const ids = [...lead, 'accept_call', ...digitsToPromptIds(settings.acceptKey)];
  if ((await leg.play(sounds.prompts(settings.language, ids), { bargeIn: true })) === 'hangup')
    return 'hangup';
  const ms = settings.acceptSeconds * 1000;
  const r = await leg.collect({ max: 1, firstDigitTimeoutMs: ms, interDigitTimeoutMs: ms });
  if (r.reason === 'hangup' || leg.ended) return 'hangup';
  if (r.reason === 'timeout' || r.digits === '') return 'timeout';
  return r.digits === settings.acceptKey ? 'accepted' : 'wrong_key';
}
