/**
 * SIP session timers (RFC 4028): the Session-Expires and Min-SE header
 * fields and the negotiation rules of §7 (UAC) and §9 (UAS). Pure functions,
 * no I/O and no timers: the refresh and expiry timers belong to the leg that
 * owns the dialog (call/session-timer.ts).
 *
 * "uac"/"uas" in a refresher parameter always name the two sides of the one
 * transaction that carries it (§4): in a re-INVITE the peer sends, "uac" is the
 * peer even when we placed the call. Negotiation results are therefore given
 * as `local`/`remote` refresher, which stays meaningful for the whole dialog.
 */
import { getHeader, getHeaderValues, parseParams, trimLws } from './message/headers.ts';
import type { HeaderBag } from './message/headers.ts';
import type { HeaderField } from './message/types.ts';

/** The option tag of RFC 4028 (§3) in Supported and Require. */
export const TIMER_TAG = 'timer';
/** §4: Min-SE may not be set below 90 s by anyone. */
export const RFC_MIN_SE_S = 90;

export type RefresherParam = 'uac' | 'uas';

export interface SessionExpires {
  seconds: number;
  refresher: RefresherParam | undefined;
}

/**
 * `Session-Expires = ("Session-Expires" / "x") HCOLON delta-seconds *(SEMI se-params)`
 * (§4). Unknown parameters are ignored; a refresher other than uac/uas is
 * ignored too (treated as absent). Undefined when malformed.
 */
export function parseSessionExpires(value: string): SessionExpires | undefined {
  const v = trimLws(value);
  const m = /^(\d{1,10})\s*(;.*)?$/s.exec(v);
  if (!m?.[1]) return undefined;
  const params = parseParams(m[2] ?? '');
  if (!params) return undefined;
  const r = params.get('refresher')?.toLowerCase();
  return { seconds: Number(m[1]), refresher: r === 'uac' || r === 'uas' ? r : undefined };
}

export function formatSessionExpires(se: SessionExpires): string {
  return se.refresher ? `${se.seconds};refresher=${se.refresher}` : String(se.seconds);
}

/** `Min-SE = "Min-SE" HCOLON delta-seconds *(SEMI generic-param)` (§5). */
export function parseMinSe(value: string): number | undefined {
  const m = /^(\d{1,10})\s*(;.*)?$/s.exec(trimLws(value));
  return m?.[1] ? Number(m[1]) : undefined;
}

/** Whether an option tag is listed in Supported (or Require) of a message. */
export function hasOptionTag(msg: HeaderBag, header: 'supported' | 'require', tag = TIMER_TAG): boolean {
  return getHeaderValues(msg, header).some((t) => trimLws(t).toLowerCase() === tag);
}

/** Whether the peer said it takes UPDATE (its Allow header, RFC 3311 §5.1). */
export function allowsUpdate(msg: HeaderBag): boolean {
  return getHeaderValues(msg, 'allow').some((m) => trimLws(m).toUpperCase() === 'UPDATE');
}

export interface TimerPolicy {
  /** The interval we ask for and the most we grant (default 1800 s). */
  intervalS: number;
  /** The least we accept (default 90 s, RFC 4028's floor). */
  minSeS: number;
}

/** A running session timer for one dialog. */
export interface NegotiatedTimer {
  intervalS: number;
  refresher: 'local' | 'remote';
  /** The smallest interval either side will take (for the Min-SE of our refreshes). */
  minSeS: number;
  /**
   * The peer took no part (its 2xx had no Session-Expires): our refreshes only probe that it is
   * still there, so any answer but 408/481 will do — a peer that refuses UPDATE is alive.
   */
  probeOnly?: boolean;
}

/** The smallest interval the request allows: its Min-SE, or 90 s when absent (§5). */
function requestMinSe(msg: HeaderBag): number {
  const v = getHeader(msg, 'min-se');
  const n = v === undefined ? undefined : parseMinSe(v);
  return Math.max(n ?? RFC_MIN_SE_S, 0);
}

export type UasDecision =
  /** No session timer on this dialog (the request asked for none). */
  | { kind: 'none' }
  /** §6: 422 Session Interval Too Small, with our Min-SE. */
  | { kind: 'too_small'; headers: HeaderField[] }
  /** Session timer on: these headers go into the 2xx. */
  | { kind: 'timer'; timer: NegotiatedTimer; headers: HeaderField[] };

/**
 * §9, for an INVITE or UPDATE we receive (initial or refresh). Only a request
 * carrying Session-Expires gets a timer: a phone that did not ask is not sent
 * re-INVITEs it never wanted (dead phones without timers are the RTP
 * watchdog's job). `current` is the running timer of a refresh, kept when the
 * refresh leaves the refresher to us.
 *
 * Refresher (the §9 table): the request's choice when it makes one; with
 * none and a peer that supports timers, the peer (uac) refreshes — the
 * customer's phone keeps its own dialog alive and a dead one simply stops;
 * a peer without timer support cannot refresh, so we do (uas).
 */
export function uasNegotiate(req: HeaderBag, policy: TimerPolicy): UasDecision {
  const raw = getHeader(req, 'session-expires');
  const se = raw === undefined ? undefined : parseSessionExpires(raw);
  if (!se) return { kind: 'none' };
  const minSe = Math.max(policy.minSeS, requestMinSe(req));
  if (se.seconds < policy.minSeS)
    return { kind: 'too_small', headers: [{ name: 'Min-SE', value: String(policy.minSeS) }] };
  // §9: the UAS may shorten the interval, never below the Min-SE in the request nor its own.
  const intervalS = Math.max(Math.min(se.seconds, policy.intervalS), minSe);
  const supported = hasOptionTag(req, 'supported');
  const param: RefresherParam = !supported ? 'uas' : (se.refresher ?? 'uac');
  const headers: HeaderField[] = [
    { name: 'Session-Expires', value: formatSessionExpires({ seconds: intervalS, refresher: param }) },
  ];
  // §9: Require: timer in the 2xx only when the UAC supports it (it must then act on it).
  if (supported) headers.push({ name: 'Require', value: TIMER_TAG });
  return {
    kind: 'timer',
    timer: { intervalS, refresher: param === 'uas' ? 'local' : 'remote', minSeS: minSe },
    headers,
  };
}

/** §7.1: what our INVITE (or refresh) offers; `refresher` names the sender's choice, if any. */
export function uacRequestHeaders(
  intervalS: number,
  minSeS: number,
  refresher?: RefresherParam,
): HeaderField[] {
  return [
    { name: 'Supported', value: TIMER_TAG },
    { name: 'Session-Expires', value: formatSessionExpires({ seconds: intervalS, refresher }) },
    { name: 'Min-SE', value: String(minSeS) },
  ];
}

/**
 * §7.2: the 2xx to a request we sent. With Session-Expires the UAS decided
 * (its refresher parameter is mandatory there; a missing one is read as
 * ours, as the UAC then must refresh, §7.2). Without it the peer does not do
 * timers: we may still refresh on our own (§7.2 "the UAC MAY"), using the
 * interval we asked for, so a peer that dies is found out by its missing answer.
 */
export function uacNegotiate(
  res: HeaderBag,
  offered: { intervalS: number; minSeS: number },
): NegotiatedTimer {
  const raw = getHeader(res, 'session-expires');
  const se = raw === undefined ? undefined : parseSessionExpires(raw);
  if (!se)
    return { intervalS: offered.intervalS, refresher: 'local', minSeS: offered.minSeS, probeOnly: true };
  // §9: the UAS may lower the interval, never raise it or go below our Min-SE. A 2xx that
  // does anyway is held to those bounds: a huge value overflowed the timers, a tiny one had
  // us refresh every half second.
  return {
    intervalS: Math.min(Math.max(se.seconds, offered.minSeS, 1), offered.intervalS),
    refresher: se.refresher === 'uas' ? 'remote' : 'local',
    minSeS: offered.minSeS,
  };
}

/**
 * §7.1 after a 422: the next attempt's interval, the larger of what we asked
 * and the Min-SE the 422 names; undefined when the 422 gives nothing larger
 * (a retry would only be refused again).
 */
export function retryInterval(res: HeaderBag, askedS: number): number | undefined {
  const raw = getHeader(res, 'min-se');
  const min = raw === undefined ? undefined : parseMinSe(raw);
  if (min === undefined || min <= askedS) return undefined;
  return min;
}

/** §10: when we refresh (half the interval). */
export function refreshAfterMs(intervalS: number): number {
  return (intervalS * 1000) / 2;
}

/**
 * §10: when the side that does not refresh gives up: before the session
 * expires by the lesser of 32 s and a third of the interval (so a refresh
 * that is under way when the interval ends still has time to arrive, and a
 * 90 s interval gives up at 60 s).
 */
export function expiryAfterMs(intervalS: number): number {
  const ms = intervalS * 1000;
  return ms - Math.min(32_000, ms / 3);
}
