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

/** A call being monitored: the customer, the agent and the supervisor, each speaking its tone. */
export interface MonitoredCall {
  customer: PhoneCall;
  agent: PhoneCall;
  sup: PhoneCall;
  /** The supervisor's frequency. */
  supHz: number;
}

/** Listen: the supervisor hears both, nobody hears the supervisor, the pair still hear each other. */
export async function expectListen({ customer, agent, sup, supHz }: MonitoredCall): Promise<void> {
  await hears(sup, VOICE.customer);
  await hears(sup, VOICE.agent);
  await doesNotHear(customer, supHz);
  await doesNotHear(agent, supHz);
  await hears(agent, VOICE.customer);
  await hears(customer, VOICE.agent);
}

/** Whisper: the agent hears the supervisor (and still the customer); the customer does not. */
export async function expectWhisper({ customer, agent, supHz }: MonitoredCall): Promise<void> {
  await hears(agent, supHz);
  await hears(agent, VOICE.customer);
  await doesNotHear(customer, supHz);
  await hears(customer, VOICE.agent);
}
