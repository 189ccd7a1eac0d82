/**
 * Caller identity headers (issue 9, caller id policy). Pure functions, no I/O.
 *
 * Reading: carriers put the real calling number in `P-Asserted-Identity`
 * (RFC 3325 §9.1) or, older ones, `Remote-Party-ID`
 * (draft-ietf-sip-privacy-04), and may put `anonymous` in From when the
 * caller withheld their number; `Privacy: id` (RFC 3325 §9.3) or `user`
 * (RFC 3323 §4.2), or RPID `;privacy=full|uri|name`, say that the
 * number must not be shown to the user we deliver the call to.
 *
 * Writing: `P-Asserted-Identity` and `Diversion` (RFC 5806 §4.1, historic but
 * what carriers read) on the calls we place on a customer's behalf, and the
 * anonymous From of RFC 3323 §4.1.1.1.
 */
import type { HeaderField } from './types.ts';
import { getHeaderValues, parseNameAddr, splitList } from './headers.ts';

/** The caller as the request presents them. */
export interface CallerIdentity {
  /** The calling number or user: asserted if a header asserts one, else the From user; '' when none. */
  user: string;
  displayName: string | undefined;
  /** Where `user` came from. */
  source: 'p-asserted-identity' | 'remote-party-id' | 'from';
  /** The caller asked not to be shown (Privacy id/user, RPID privacy, or an anonymous From). */
  private: boolean;
}

/** A request's headers: enough to read the identity of an INVITE. */
export interface IdentityHeaders {
  readonly headers: readonly HeaderField[];
}

/** RFC 3323 §4.1.1.1: the From of a caller who withheld their identity. */
export const ANONYMOUS_USER = 'anonymous';
export const ANONYMOUS_HOST = 'anonymous.invalid';
export const ANONYMOUS_DISPLAY_NAME = 'Anonymous';

/** `anonymous` (any case) or an empty user: no number to show or to call back. */
export function isAnonymousUser(user: string | undefined): boolean {
  return !user || user.toLowerCase() === ANONYMOUS_USER;
}

/** The user part of a sip:/sips:/tel: name-addr, with its display name. */
function userOf(value: string): { user: string; displayName: string | undefined } | undefined {
  const na = parseNameAddr(value);
  if (!na) return undefined;
  const { scheme } = na.uri;
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') return undefined;
  const user = na.uri.user ?? '';
  return user ? { user, displayName: na.displayName } : undefined;
}

/** Every element of every value of a header that may carry a comma-separated list of name-addrs. */
function elements(req: IdentityHeaders, name: string): string[] {
  return getHeaderValues(req, name).flatMap((v) => splitList(v));
}

/** The Privacy header's values, lower-cased (RFC 3323 §4.2: `;`-separated priv-values). */
export function privacyValues(req: IdentityHeaders): string[] {
  return getHeaderValues(req, 'privacy').flatMap((v) =>
    v
      .split(/[;,]/)
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s.length > 0),
  );
}

/**
 * Who is calling. An asserted identity wins over From (From is whatever the
 * caller's phone wrote; PAI/RPID is what the carrier vouches for): the first
 * PAI with a user part (a sip: and a tel: form may both be there, RFC 3325
 * §9.1), then the first RPID, then From. An anonymous PAI or RPID is no
 * identity at all.
 */
export function readCallerIdentity(req: IdentityHeaders): CallerIdentity {
  const privacy = privacyValues(req);
  let priv = privacy.includes('id') || privacy.includes('user');
  const from = userOf(getHeaderValues(req, 'from')[0] ?? '');
  if (isAnonymousUser(from?.user)) priv ||= from !== undefined;
  for (const v of elements(req, 'p-asserted-identity')) {
    const id = userOf(v);
    if (id && !isAnonymousUser(id.user)) return { ...id, source: 'p-asserted-identity', private: priv };
  }
  for (const v of elements(req, 'remote-party-id')) {
    const na = parseNameAddr(v);
    const id = userOf(v);
    if (!na || !id || isAnonymousUser(id.user)) continue;
    const rpidPrivacy = na.params.get('privacy')?.toLowerCase();
    if (rpidPrivacy === 'full' || rpidPrivacy === 'uri' || rpidPrivacy === 'name') priv = true;
    return { ...id, source: 'remote-party-id', private: priv };
  }
  return {
    user: from && !isAnonymousUser(from.user) ? from.user : '',
    displayName: from?.displayName,
    source: 'from',
    private: priv,
  };
}

/** `<sip:user@host>`: host is an IP literal or name as it goes into a URI (IPv6 in brackets). */
function sipNameAddr(user: string, host: string): string {
  return `<sip:${user}@${host}>`;
}

/** RFC 3325 §9.1: `P-Asserted-Identity: <sip:USER@HOST>`. */
export function assertedIdentity(user: string, host: string): HeaderField {
  return { name: 'P-Asserted-Identity', value: sipNameAddr(user, host) };
}

/** RFC 5806 diversion-reason values we use. */
export type DiversionReason = 'unconditional' | 'user-busy' | 'no-answer' | 'deflection' | 'unknown';

/**
 * RFC 5806 §4.1: `Diversion: <sip:USER@HOST>;reason=…;counter=1` — the number
 * the call was first made to (our hotline) and why it now goes elsewhere.
 */
export function diversion(
  user: string,
  host: string,
  reason: DiversionReason = 'unconditional',
): HeaderField {
  return { name: 'Diversion', value: `${sipNameAddr(user, host)};reason=${reason};counter=1` };
}

/** RFC 3325 §9.3 / RFC 3323 §4.2: the identity in P-Asserted-Identity must not reach the user. */
export function privacyId(): HeaderField {
  return { name: 'Privacy', value: 'id' };
}
