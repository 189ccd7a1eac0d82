/**
 * Who hears whom in a call-flow test: each party "speaks" its own frequency, and the
 * in-call menu answers with its own tones.
 */
import { expect } from 'vitest';
import type { PhoneCall } from '../phone/phone.ts';
import { sleep } from './harness.ts';

/** The in-call menu's "accepted" beep and its error tone. */
export const ACCEPT_HZ = 1000;
export const ERROR_HZ = 480;

/**
 * Each party of a call-flow test "speaks" its own frequency; a party hears another when
 * that frequency arrives, and must not hear anyone it is not connected to.
 */
export const VOICE = { customer: 700, agent: 1300, target: 1700, colleague: 1900 } as const;

/** The listener hears the speaker's frequency (200 ms of it) from now on. */
export async function hears(listener: PhoneCall, speakerHz: number, timeoutMs = 4000): Promise<void> {
  listener.recorder.clear();
  await listener.waitForTone(speakerHz, timeoutMs, 200);
}

/** For `ms` from now, the listener hears nothing of the speaker's frequency. */
export async function doesNotHear(listener: PhoneCall, speakerHz: number, ms = 800): Promise<void> {
  listener.recorder.clear();
  await sleep(ms);
  expect(listener.recorder.heardTone(speakerHz, 100)).toBe(false);
}
