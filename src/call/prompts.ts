/**
 * Prompt ids and files (SPEC §11). The audio is made by
 * `prompts/scripts/make-prompts.sh` from `prompts/scripts/prompts.tsv`:
 * `prompts/<lang>/<id>.wav`, WAV G.711 μ-law 8 kHz mono; texts in
 * `prompts/manifest.json`; music on hold in `prompts/moh.wav`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentState } from '../store/store.ts';
import { LANGUAGES, type Language } from '../store/vocabulary.ts';

/** The settings' languages: one prompt folder each. */
export const PROMPT_LANGUAGES = LANGUAGES;
export type PromptLanguage = Language;

export const DIGIT_PROMPT_IDS = [
  'digit_0',
  'digit_1',
  'digit_2',
  'digit_3',
  'digit_4',
  'digit_5',
  'digit_6',
  'digit_7',
  'digit_8',
  'digit_9',
] as const;
export type DigitPromptId = (typeof DIGIT_PROMPT_IDS)[number];

export const STATE_PROMPT_IDS = ['state_ready', 'state_tnr', 'state_nr', 'state_out'] as const;
export type StatePromptId = (typeof STATE_PROMPT_IDS)[number];

/** Every prompt, in the order of `prompts.tsv`. */
export const PROMPT_IDS = [
  'enter_login',
  'enter_pin',
  'wrong_pin',
  'unknown_login',
  'locked',
  'registered',
  'main_menu',
  'state_is',
  ...STATE_PROMPT_IDS,
  'new_pin',
  'repeat_pin',
  'pin_changed',
  'pin_mismatch',
  'pin_weak',
  'goodbye',
  'queue_wait',
  'queue_position',
  'no_agents',
  'announce_number',
  'announce_offer',
  ...DIGIT_PROMPT_IDS,
  'not_in_service',
  // diagnostics
  'enter_digits',
  'you_entered',
  // "To take the call, press" + the accept key's digit (acceptCall: key)
  'accept_call',
  // "This call may be recorded" (recordingAnnouncement: on)
  'recording_notice',
] as const;
export type PromptId = (typeof PROMPT_IDS)[number];

/** The `prompts/` folder of this checkout. */
export const DEFAULT_PROMPTS_DIR = fileURLToPath(new URL('../../prompts/', import.meta.url));

export function isPromptId(s: string): s is PromptId {
  return (PROMPT_IDS as readonly string[]).includes(s);
}

/** `<dir>/<lang>/<id>.wav`. */
export function promptPath(lang: PromptLanguage, id: PromptId, dir: string = DEFAULT_PROMPTS_DIR): string {
  return promptFile(dir, lang, id);
}

/** {@link promptPath} for ids that are not checked against PROMPT_IDS (the player's callers build them). */
export function promptFile(dir: string, lang: PromptLanguage, id: string): string {
  return join(dir, lang, `${id}.wav`);
}

/** The music-on-hold loop (20 s, same format as the prompts). */
export function mohPath(dir: string = DEFAULT_PROMPTS_DIR): string {
  return join(dir, 'moh.wav');
}

/**
 * One prompt per digit, for speaking a number digit by digit
 * ("+7926…" → digit_7, digit_9, digit_2, digit_6 …). Anything but 0–9
 * (`+`, `*`, `#`, spaces) is skipped.
 */
export function digitsToPromptIds(digits: string): DigitPromptId[] {
  const out: DigitPromptId[] = [];
  for (const ch of digits) {
    if (ch >= '0' && ch <= '9') out.push(`digit_${ch}` as DigitPromptId);
  }
  return out;
}

/**
 * The prompt naming an agent-chosen state (spoken after `state_is`), or null
 * for the call-driven states (`offered`, `busy`, `wrap_up`), which have none.
 */
export function stateToPromptId(state: AgentState): StatePromptId | null {
  switch (state) {
    case 'ready':
      return 'state_ready';
    case 'temporarily_not_ready':
      return 'state_tnr';
    case 'not_ready':
      return 'state_nr';
    case 'logged_out':
      return 'state_out';
    case 'offered':
    case 'busy':
    case 'wrap_up':
      return null;
  }
}
