import type { TransitionTable } from '../../../util/state-machine.ts';

/**
 * The connected part of a customer call and the agent's in-call menu (seed section 2,
 * SPEC §5). No voice prompts reach the agent here: an accept beep and an error beep only.
 *
 *   talking ─*─▶ menu ─1/2/3─▶ collecting ─#─▶ dialing ─▶ consulting ─hang-up─▶ transferred
 *      ▲          │  └─4─▶ waiting                │              │
 *      └──5/timeout┘                              └─fail─▶ talking (agent there) or the queue
 *                     └─3─▶ announcing ─customer 1─▶ dialing
 *
 * `ended`: the call is over or back in a queue; the session ignores whatever comes later.
 */
export type InCallState =
  | 'talking'
  | 'menu'
  | 'collecting'
  | 'waiting'
  | 'dialing'
  | 'consulting'
  | 'consult_menu'
  | 'announcing'
  | 'transferred'
  | 'ended';

export const IN_CALL_TRANSITIONS: TransitionTable<InCallState> = {
  talking: ['menu', 'ended'],
  menu: ['talking', 'collecting', 'waiting', 'ended'],
  collecting: ['menu', 'talking', 'dialing', 'announcing', 'ended'],
  waiting: ['menu', 'talking', 'ended'],
  dialing: ['talking', 'consulting', 'transferred', 'ended'],
  consulting: ['consult_menu', 'talking', 'transferred', 'ended'],
  consult_menu: ['consulting', 'talking', 'transferred', 'ended'],
  announcing: ['talking', 'dialing', 'ended'],
  transferred: ['talking', 'ended'],
  ended: [],
};

/** SPEC §5: 10 s without a key in the menu returns the agent to the customer. */
export const MENU_TIMEOUT_MS = 10_000;
/** SPEC §5: the customer has 15 s to choose after an announced number, asked three times. */
export const ANNOUNCE_CHOICE_MS = 15_000;
export const ANNOUNCE_TRIES = 3;
