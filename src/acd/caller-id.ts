/**
 * Caller id policy on the calls we place for a customer (issue 9): to the
 * agent's phone and to a transfer target.
 *
 * - From: the customer's number (the agent sees who calls), or the hotline
 *   when the company sets `presentedCallerId: hotline` (carriers that refuse
 *   a From that is not a number of the account).
 * - P-Asserted-Identity: the hotline, a number the carrier knows is ours, so
 *   it accepts the call and bills our account (RFC 3325 §9.1).
 * - Diversion: the hotline, `reason=unconditional` — the call was made to it
 *   and we forward it (RFC 5806 §4.1); mobile networks show "forwarded".
 * - An anonymous customer stays anonymous: From `"Anonymous"
 *   <sip:anonymous@anonymous.invalid>` (RFC 3323 §4.1.1.1) and `Privacy: id`
 *   so that the next hop withholds the asserted identity too (RFC 3325 §9.3).
 */
import type { DialOptions } from '../call/engine.ts';
import {
  ANONYMOUS_DISPLAY_NAME,
  ANONYMOUS_HOST,
  ANONYMOUS_USER,
  assertedIdentity,
  diversion,
  privacyId,
} from '../sip/message/identity.ts';
import type { HeaderField } from '../sip/message/types.ts';
import type { PresentedCallerId } from '../store/store.ts';

/** What the policy needs to know of a customer call. */
export interface CallerOfCall {
  /** The customer's number ('' when they sent none). */
  callerId: string;
  callerName: string | undefined;
  callerPrivate: boolean;
  /** The number the customer dialled. */
  hotline: string;
}

/** From and identity headers for a call placed on the customer's behalf. */
export function callerIdentityFor(
  call: CallerOfCall,
  presented: PresentedCallerId,
): Pick<DialOptions, 'callerId' | 'headers'> {
  const anonymous = call.callerPrivate || !call.callerId;
  const callerId: DialOptions['callerId'] =
    presented === 'hotline'
      ? { user: call.hotline }
      : anonymous
        ? { user: ANONYMOUS_USER, displayName: ANONYMOUS_DISPLAY_NAME, host: ANONYMOUS_HOST }
        : { user: call.callerId, displayName: call.callerName };
  const headers = (host: string, format: (n: string) => string = (n) => n): HeaderField[] => {
    const hotline = format(call.hotline);
    const out = [assertedIdentity(hotline, host), diversion(hotline, host, 'unconditional')];
    if (anonymous) out.push(privacyId());
    return out;
  };
  return { callerId, headers };
}
