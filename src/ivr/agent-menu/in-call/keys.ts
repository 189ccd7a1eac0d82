import { feedDigit, type CollectOptions } from '../../../call/digits.ts';

/** The agent's in-call menu (SPEC §5): `*` opens it, then one key chooses. */
export type MenuChoice = 'external' | 'department' | 'announce' | 'wait' | 'back' | 'record';

const MENU_KEYS: Readonly<Record<string, MenuChoice>> = {
  '1': 'external',
  '2': 'department',
  '3': 'announce',
  '4': 'wait',
  '5': 'back',
  // Start/stop the call's recording (issue 14; on_demand, or all to pause it).
  '7': 'record',
};

export function menuChoice(key: string): MenuChoice | undefined {
  return MENU_KEYS[key];
}

/** What the agent keys after 1, 2 or 3. */
export type EntryKind = 'external' | 'department' | 'announce';

/**
 * Entry rules on top of the shared digit reducer: a department is three digits, a number ends
 * with `#`. The timeouts are the menu's (the session's timer, re-armed on every key).
 */
function rules(max: number, terminator: string | undefined, timeoutMs: number): CollectOptions {
  return { max, terminator, firstDigitTimeoutMs: timeoutMs, interDigitTimeoutMs: timeoutMs };
}

export function entryRules(kind: EntryKind, timeoutMs: number): CollectOptions {
  return kind === 'department' ? rules(3, undefined, timeoutMs) : rules(Infinity, '#', timeoutMs);
}

export type EntryStep =
  /** `*`: back to the menu, start again. */
  | { kind: 'restart' }
  /** Not a digit: error beep, back to the menu. */
  | { kind: 'refuse' }
  | { kind: 'more'; digits: string }
  | { kind: 'done'; digits: string };

/** Feeds one agent key into an entry. */
export function feedEntry(opts: CollectOptions, sofar: string, key: string): EntryStep {
  if (key === '*') return { kind: 'restart' };
  if (key !== opts.terminator && !/^[0-9]$/.test(key)) return { kind: 'refuse' };
  const r = feedDigit(opts, sofar, key);
  return 'reason' in r ? { kind: 'done', digits: r.digits } : { kind: 'more', digits: r.digits };
}
