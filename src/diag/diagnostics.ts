import type { InboundCall } from '../call/engine.ts';
import type { Sounds } from '../call/sounds.ts';
import type { Language } from '../store/vocabulary.ts';

/** Numbers operators call to check a line: answered only with `--diagnostics` (config `diagnostics`). */
export const DIAG_READBACK = '9000';
export const DIAG_ECHO = '9001';
export const DIAG_RING = '9002';
const RING_TEST_MS = 8_000;

export const digitPromptId = (d: string): string | undefined =>
  /^[0-9]$/.test(d) ? `digit_${d}` : undefined;

/**
 * 9000: "enter digits and press hash", then reads them back digit by digit.
 * Shows that prompts, RFC 4733 / INFO digits and the player all work.
 */
export async function readbackTest(call: InboundCall, sounds: Sounds, lang: Language): Promise<void> {
  const { leg } = call;
  if (!(await call.answer())) return;
  await leg.play(sounds.prompts(lang, ['enter_digits']), { bargeIn: true });
  const got = await leg.collect({
    max: 20,
    terminator: '#',
    firstDigitTimeoutMs: 10_000,
    interDigitTimeoutMs: 5_000,
  });
  if (got.reason === 'hangup') return;
  const ids = [...got.digits].map(digitPromptId).filter((x): x is string => x !== undefined);
  await leg.play(sounds.prompts(lang, ['you_entered', ...ids]));
  await leg.play(sounds.prompts(lang, ['goodbye']));
  await leg.hangup();
}

/** 9001: everything the caller sends comes straight back (audio path and latency check). */
export async function echoTest(call: InboundCall): Promise<void> {
  const { leg } = call;
  if (!(await call.answer())) return;
  leg.mediaSession.echo();
}

/** 9002: rings for 8 s (180 Ringing), then behaves as the echo test: checks ringback and CANCEL handling. */
export async function ringTest(call: InboundCall): Promise<void> {
  call.ring();
  const { leg } = call;
  await new Promise<void>((resolve) => {
    const timer = leg.setTimer(resolve, RING_TEST_MS);
    leg.on('ended', () => {
      leg.clearTimer(timer);
      resolve();
    });
  });
  if (leg.state === 'ringing') await echoTest(call);
}
