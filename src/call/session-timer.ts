import type { Clock, TimerHandle } from '../util/clock.ts';
import { StatefulFlow, type TransitionTable } from '../util/state-machine.ts';
import { expiryAfterMs, type NegotiatedTimer } from '../sip/session-timer.ts';

/**
 * The session timer of one leg (RFC 4028 §10). The negotiation is the SIP
 * layer's (sip/session-timer.ts); this is the clock part, owned by the leg
 * that owns the dialog: its timers are the leg's and die with it.
 *
 *   off ──start──▶ refresher ──half the time left──▶ refreshing ──2xx──▶ refresher | watching
 *    │                 ▲  └────────────peer refreshed────────────┐    │ no answer/408/481,
 *    └──start──▶ watching ◀──peer refreshed (self)───────────────┘    │ or the session ran out
 *                    └──no refresh by expiry − min(32 s, interval/3)──┴──▶ expired
 *   any ──leg ended──▶ ended
 *
 * - refresher: we refresh when half of the time left has passed (half the
 *   interval after a refresh, §10), and sooner again after a refused one.
 * - refreshing: our re-INVITE/UPDATE is out. The session itself still runs
 *   out at its expiry: a refresh unanswered by then means the peer is gone
 *   even if the transaction has not timed out yet.
 * - watching: the peer refreshes; when no refresh has come by expiry minus
 *   min(32 s, interval/3) the session is dead (§10's "slightly before").
 */
export type SessionTimerState = 'off' | 'refresher' | 'refreshing' | 'watching' | 'expired' | 'ended';

export const SESSION_TIMER_TRANSITIONS: TransitionTable<SessionTimerState> = {
  off: ['refresher', 'watching', 'ended'],
  refresher: ['refresher', 'refreshing', 'watching', 'ended'],
  refreshing: ['refresher', 'watching', 'expired', 'ended'],
  watching: ['refresher', 'watching', 'expired', 'ended'],
  expired: ['ended'],
  ended: [],
};

/** How our refresh went: `dead` (no answer, 408, 481 — §10) ends the session. */
export type RefreshResult =
  { kind: 'ok'; timer: NegotiatedTimer } | { kind: 'dead' | 'refused'; status: number };

/** Why the session is dead, for the log line. */
export type ExpiryCause = 'no_refresh' | 'refresh_failed' | 'ran_out';

export interface SessionTimerHost {
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle | undefined): void;
  /** Sends our refresh (re-INVITE or UPDATE) for this interval and says how it went. */
  refresh(timer: NegotiatedTimer): Promise<RefreshResult>;
  /** The session is dead: the leg hangs up. */
  expired(cause: ExpiryCause, detail: { intervalS: number; status?: number }): void;
}

/** A refused refresh is tried again after this long at the least. */
const RETRY_MIN_MS = 500;
/**
 * Node runs a timer longer than 2^31 − 1 ms (24.8 days) after 1 ms. §9 lets a peer's Min-SE
 * force an interval that long (ten digits parse): such a timer waits the most Node can wait.
 */
const MAX_DELAY_MS = 2 ** 31 - 1;
const delay = (ms: number): number => Math.min(ms, MAX_DELAY_MS);

/**
 * The host's timers as the machine's clock: they stay the leg's (they die with
 * it), and the machine clears the ones a state armed when it is left. The
 * machine reads no wall time, and the leg counts its own timers (`pending`).
 */
function hostClock(host: SessionTimerHost): Clock {
  return {
    now: () => host.now(),
    wallNow: () => host.now(),
    setTimeout: (fn, ms) => host.setTimer(fn, ms),
    clearTimeout: (handle) => host.clearTimer(handle),
    pending: () => 0,
  };
}

export class SessionTimer extends StatefulFlow<SessionTimerState> {
  timer: NegotiatedTimer | undefined;
  /** When the session runs out unless refreshed (clock ms). */
  expiresAt = 0;
  /** Counts refreshes sent: a late answer to an earlier one is ignored. */
  private attempt = 0;
  /** After a refused refresh the next waits at least this long (0 after a good one). */
  private retryFloorMs = 0;

  constructor(private readonly host: SessionTimerHost) {
    super({
      name: 'session-timer',
      initial: 'off',
      transitions: SESSION_TIMER_TRANSITIONS,
      clock: hostClock(host),
    });
  }

  /** The dialog is up with this timer (initial 2xx). */
  start(timer: NegotiatedTimer): void {
    this.refreshed(timer);
  }

  /**
   * A refresh went through, ours or the peer's (its re-INVITE/UPDATE that we
   * answered 2xx): the session lives another interval, with whoever refreshes now.
   */
  refreshed(timer: NegotiatedTimer): void {
    if (this.machine.is('expired', 'ended')) return;
    this.timer = timer;
    this.retryFloorMs = 0;
    this.expiresAt = this.host.now() + timer.intervalS * 1000;
    this.move(timer.refresher === 'local' ? 'refresher' : 'watching', 'refreshed');
  }

  /** The leg ended: nothing more may fire. */
  stop(): void {
    this.move('ended', 'leg ended');
  }

  /** Moves (the machine clears the old state's timers) and arms what the new state owns. */
  private move(to: SessionTimerState, reason: string, cause?: ExpiryCause, status?: number): void {
    if (!this.machine.transition(to, cause ?? reason)) return;
    const t = this.timer;
    const left = this.expiresAt - this.host.now();
    switch (to) {
      case 'refresher':
        this.machine.arm(delay(Math.max(left / 2, this.retryFloorMs)), () =>
          this.move('refreshing', 'half the time left'),
        );
        break;
      case 'refreshing': {
        if (!t) break;
        // The session's own end while the refresh is out.
        this.machine.arm(delay(Math.max(left, 0)), () => this.move('expired', 'expiry', 'ran_out'));
        const n = ++this.attempt;
        void this.host.refresh(t).then((r) => this.onRefreshResult(n, r));
        break;
      }
      case 'watching':
        if (t) this.machine.arm(delay(this.watchMs(t)), () => this.move('expired', 'expiry', 'no_refresh'));
        break;
      case 'expired':
        this.host.expired(cause ?? 'ran_out', { intervalS: t?.intervalS ?? 0, status });
        break;
      default:
        break;
    }
  }

  /** Time from now until the non-refresher gives up (§10), counted from the last refresh. */
  private watchMs(t: NegotiatedTimer): number {
    const sinceRefresh = t.intervalS * 1000 - (this.expiresAt - this.host.now());
    return Math.max(expiryAfterMs(t.intervalS) - sinceRefresh, 0);
  }

  private onRefreshResult(n: number, r: RefreshResult): void {
    // A later refresh, the peer's own, or the leg's end overtook this one.
    if (n !== this.attempt || this.state !== 'refreshing') return;
    if (r.kind === 'ok') return this.refreshed(r.timer);
    if (r.kind === 'dead') {
      this.move('expired', 'refresh failed', 'refresh_failed', r.status);
      return;
    }
    // Refused (491 glare, 500, …): the session is not dead; try again while time is left.
    this.retryFloorMs = RETRY_MIN_MS;
    this.move('refresher', 'refresh refused');
  }
}
