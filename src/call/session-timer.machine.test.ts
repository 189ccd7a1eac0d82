import { describe, expect, it } from 'vitest';
import type { NegotiatedTimer } from '../sip/session-timer.ts';
import { FakeClock, settle } from '../util/fake-clock.ts';
import { allMoves } from '../util/state-machine.ts';
import {
  SESSION_TIMER_TRANSITIONS,
  SessionTimer,
  type RefreshResult,
  type SessionTimerState,
} from './session-timer.ts';

/**
 * The session timer's machine (RFC 4028 §10), driven only through its own
 * methods on a fake clock: every move of SESSION_TIMER_TRANSITIONS, and one
 * the table refuses.
 */

const LOCAL: NegotiatedTimer = { intervalS: 90, refresher: 'local', minSeS: 90 };
const REMOTE: NegotiatedTimer = { intervalS: 90, refresher: 'remote', minSeS: 90 };

const seen = new Set<string>();

function timer() {
  const clock = new FakeClock();
  const answers: ((r: RefreshResult) => void)[] = [];
  const expired: string[] = [];
  const t = new SessionTimer({
    now: () => clock.now(),
    setTimer: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimer: (h) => clock.clearTimeout(h),
    refresh: () => new Promise<RefreshResult>((answer) => answers.push(answer)),
    expired: (cause) => expired.push(cause),
  });
  t.onStateChange(({ from, to }) => seen.add(`${from}>${to}`));
  /** Answers the refresh that is out. */
  const answer = async (r: RefreshResult) => {
    answers.shift()?.(r);
    await settle();
  };
  return { clock, t, answer, expired };
}

describe('SessionTimer machine', () => {
  it('refreshes, hands over and takes back the refresh, and expires when the peer stops', async () => {
    const { clock, t, answer, expired } = timer();
    t.start(LOCAL);
    t.refreshed(LOCAL);
    t.refreshed(REMOTE);
    t.refreshed(REMOTE);
    t.refreshed(LOCAL);
    /** Our refresh goes out after `ms`; the peer answers `r`. */
    const refresh = async (ms: number, r: RefreshResult, then: SessionTimerState) => {
      clock.advance(ms);
      expect(t.state).toBe('refreshing');
      await answer(r);
      expect(t.state).toBe(then);
    };
    await refresh(45_000, { kind: 'ok', timer: LOCAL }, 'refresher');
    await refresh(45_000, { kind: 'refused', status: 491 }, 'refresher');
    // Half the time left (45 s) after the refused one.
    await refresh(22_500, { kind: 'ok', timer: REMOTE }, 'watching');
    clock.advance(60_000);
    expect(t.state).toBe('expired');
    expect(expired).toEqual(['no_refresh']);
    t.stop();
    expect(t.state).toBe('ended');
    expect(clock.pending()).toBe(0);
  });

  it('expires when our refresh is dead (481) or unanswered by the expiry', async () => {
    const dead = timer();
    dead.t.start(LOCAL);
    dead.clock.advance(45_000);
    await dead.answer({ kind: 'dead', status: 481 });
    expect(dead.expired).toEqual(['refresh_failed']);

    const late = timer();
    late.t.start(LOCAL);
    late.clock.advance(45_000);
    late.clock.advance(45_000);
    expect(late.t.state).toBe('expired');
    expect(late.expired).toEqual(['ran_out']);
    expect(late.clock.pending()).toBe(0);
  });

  it('ends from every state the leg can end in', () => {
    for (const walk of [
      (t: SessionTimer) => t,
      (t: SessionTimer) => t.start(LOCAL),
      (t: SessionTimer) => t.start(REMOTE),
    ]) {
      const { clock, t } = timer();
      walk(t);
      t.stop();
      expect(t.state).toBe('ended');
      expect(clock.pending()).toBe(0);
    }
    const { clock, t } = timer();
    t.start(LOCAL);
    clock.advance(45_000);
    t.stop();
    expect(t.state).toBe('ended');
    expect(clock.pending()).toBe(0);
  });

  it('refuses a move the table does not allow (ended is final)', () => {
    const { t } = timer();
    const refused: string[] = [];
    t.onRefused(({ from, to }) => refused.push(`${from}>${to}`));
    t.stop();
    t.stop();
    expect(refused).toEqual(['ended>ended']);
    expect(t.state).toBe('ended');
  });

  it('drove every move the table allows', () => {
    expect([...seen].sort()).toEqual(allMoves(SESSION_TIMER_TRANSITIONS).sort());
  });
});
