/**
 * Set-up shared by the socket tests (sip, media): a silent logger, a real-time sleep and a
 * poll that waits for a condition the test cannot await directly (a datagram arriving, a
 * socket closing). Not imported by the server; it lives in src/ so tests beside the code
 * reach it without a path out of the tree.
 */
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { TimerHandle } from './clock.ts';
import { FakeClock } from './fake-clock.ts';

export const quiet = pino({ level: 'silent' });

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `stepMs` until it holds; fails naming `what` after `timeoutMs`. */
export async function until(
  check: () => boolean,
  what = 'condition',
  timeoutMs = 2000,
  stepMs = 5,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** A FakeClock for code that must not start timers (a registrar, nonces): one started fails the test. */
export class TimerlessClock extends FakeClock {
  override setTimeout(): TimerHandle {
    throw new Error('no timers expected');
  }
}

/**
 * A resource for the tests of the enclosing `describe`: `open` before each test (or once before
 * all of them, `per: 'suite'`), handed to `use`, and `close`d after.
 */
export function useResource<R>(
  open: () => Promise<R>,
  close: (r: R) => Promise<void>,
  use: (r: R) => void,
  per: 'test' | 'suite' = 'test',
): void {
  let resource: R | undefined;
  (per === 'test' ? beforeEach : beforeAll)(async () => {
    resource = await open();
    use(resource);
  });
  (per === 'test' ? afterEach : afterAll)(async () => {
    if (resource !== undefined) await close(resource);
  });
}
