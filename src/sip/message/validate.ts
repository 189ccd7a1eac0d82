/**
 * What a UAS checks before acting on a request (RFC 3261 §8.2, RFC 4475 §3.3),
 * in the RFC's order: version (505), malformed or missing mandatory headers
 * (400), Request-URI scheme (416), Require (420), body type and encoding
 * (415), Accept of an INVITE (406).
 *
 * Deliberately not checked here:
 * - the method: an unknown or unsupported method is the UA's 405/501
 *   (§8.2.1). For such a method only the structural checks run, and even a
 *   CSeq method mismatch is left to the UA's 501 (RFC 4475 §3.1.2.18 prefers
 *   501 to 400);
 * - the branch parameter: RFC 2543-style or empty "z9hG4bK" branches are
 *   accepted (RFC 4475 §3.2.1, §3.4.1);
 * - Max-Forwards 0: a UAS processes the request as if it were positive (RFC
 *   4475 §3.3.11; 483 is a proxy's answer). Values over 255 are ignored too
 *   (§3.1.2.4);
 * - Proxy-Require: for proxies only (RFC 4475 §3.3.5);
 * - Date and other headers the stack does not use (RFC 4475 §3.1.2.12).
 *
 * For ACK the result must never be sent (an ACK gets no response), only
 * used to drop it.
 */
import type { CSeq, HeaderField, SipRequest, Via } from './types.ts';
import {
  countHeader,
  getHeader,
  getHeaderValues,
  parseCSeq,
  parseNameAddr,
  parseParams,
  parseVia,
  trimLws,
} from './headers.ts';

export interface UasCapabilities {
  /** Methods the UA implements (upper-case). */
  methods: string[];
  /** Option tags the UA supports (Require). */
  extensions: string[];
  /** Body media types the UA understands, e.g. "application/sdp". */
  contentTypes: string[];
}

export interface CheckFailure {
  status: number;
  reason: string;
  headers?: HeaderField[];
}

const REQUIRED = ['Via', 'From', 'To', 'Call-ID', 'CSeq'];
/** Single-valued headers that must not appear twice (RFC 4475 §3.3.8, §3.3.9). */
const SINGLE = ['From', 'To', 'Call-ID', 'CSeq', 'Max-Forwards', 'Content-Length', 'Content-Type', 'Expires'];

const bad = (reason: string): CheckFailure => ({ status: 400, reason });

/** "type/subtype" lower-cased, parameters stripped. */
function mediaType(v: string): string {
  const semi = v.indexOf(';');
  return trimLws(semi < 0 ? v : v.slice(0, semi)).toLowerCase();
}

function accepts(range: string, type: string): boolean {
  if (range === '*/*' || range === type) return true;
  return range.endsWith('/*') && type.startsWith(range.slice(0, -1));
}

/**
 * Returns the response to send instead of handling the request, or undefined to go on.
 * `parsed`: the top Via and the CSeq as the stack already parsed them on arrival
 * (the top Via known good), so that they are not parsed again here.
 */
export function checkRequest(
  req: SipRequest,
  caps: UasCapabilities,
  parsed?: { via: Via; cseq: CSeq | undefined },
): CheckFailure | undefined {
  if (req.version !== 'SIP/2.0') return { status: 505, reason: 'Version Not Supported' };

  // --- structure (400) -----------------------------------------------------
  for (const name of REQUIRED) {
    if (getHeader(req, name) === undefined) return bad(`Missing ${name}`);
  }
  for (const name of SINGLE) {
    if (countHeader(req, name) > 1) return bad(`Multiple ${name} values`);
  }
  for (const via of getHeaderValues(req, 'Via').slice(parsed ? 1 : 0)) {
    if (!parseVia(via)) return bad('Malformed Via');
  }
  for (const name of ['From', 'To']) {
    if (!parseNameAddr(getHeader(req, name) ?? '')) return bad(`Malformed ${name}`);
  }
  const callId = getHeader(req, 'Call-ID') ?? '';
  if (callId.length === 0 || /[ \t]/.test(callId)) return bad('Malformed Call-ID');
  const cseq = parsed ? parsed.cseq : parseCSeq(getHeader(req, 'CSeq') ?? '');
  if (!cseq) return bad('Malformed CSeq');
  for (const contact of getHeaderValues(req, 'Contact')) {
    if (contact !== '*' && !parseNameAddr(contact)) return bad('Malformed Contact');
  }
  for (const name of ['Route', 'Record-Route']) {
    for (const v of getHeaderValues(req, name)) if (!parseNameAddr(v)) return bad(`Malformed ${name}`);
  }
  const mf = getHeader(req, 'Max-Forwards');
  if (mf !== undefined && !/^[0-9]+$/.test(mf)) return bad('Malformed Max-Forwards');
  const ct = getHeader(req, 'Content-Type');
  if (ct !== undefined && !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(mediaType(ct))) {
    return bad('Malformed Content-Type');
  }

  const known = caps.methods.includes(req.method);
  if (!known) return undefined; // the UA answers 405/501
  if (cseq.method !== req.method) return bad('CSeq method does not match the request method');

  // --- Request-URI (416, §8.2.2.1) ------------------------------------------
  const scheme = req.uri.scheme.toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') {
    return { status: 416, reason: 'Unsupported URI Scheme' };
  }
  // Headers are not allowed in a Request-URI (RFC 3261 §19.1.1; RFC 4475 §3.1.2.11 allows a 400).
  if (req.uri.headers.size > 0) return bad('Headers in Request-URI');

  if (req.method === 'ACK' || req.method === 'CANCEL') return undefined;

  // --- Require (420, §8.2.2.3) ----------------------------------------------
  const unsupported = getHeaderValues(req, 'Require').filter(
    (tag) => !caps.extensions.some((e) => e.toLowerCase() === tag.toLowerCase()),
  );
  if (unsupported.length > 0) {
    return {
      status: 420,
      reason: 'Bad Extension',
      headers: [{ name: 'Unsupported', value: unsupported.join(', ') }],
    };
  }

  // --- body (415, §8.2.3) ---------------------------------------------------
  if (req.body.length > 0) {
    const disposition = getHeader(req, 'Content-Disposition');
    const semi = disposition?.indexOf(';') ?? -1;
    const optional =
      disposition !== undefined &&
      semi >= 0 &&
      parseParams(disposition.slice(semi))?.get('handling') === 'optional';
    if (!optional) {
      const accept = caps.contentTypes.join(', ');
      if (ct === undefined)
        return { status: 415, reason: 'Missing Content-Type', headers: [{ name: 'Accept', value: accept }] };
      const type = mediaType(ct);
      if (!caps.contentTypes.some((t) => t.toLowerCase() === type)) {
        return {
          status: 415,
          reason: 'Unsupported Media Type',
          headers: [{ name: 'Accept', value: accept }],
        };
      }
      const encodings = getHeaderValues(req, 'Content-Encoding').filter(
        (e) => e.toLowerCase() !== 'identity',
      );
      if (encodings.length > 0) {
        return {
          status: 415,
          reason: 'Unsupported Media Type',
          headers: [{ name: 'Accept-Encoding', value: 'identity' }],
        };
      }
    }
  }

  // --- Accept of an INVITE (406, RFC 4475 §3.3.15): our answer carries a body we can produce
  if (req.method === 'INVITE' && countHeader(req, 'Accept') > 0) {
    const ranges = getHeaderValues(req, 'Accept').map(mediaType);
    const ok = caps.contentTypes.some((t) => ranges.some((r) => accepts(r, t.toLowerCase())));
    if (!ok) return { status: 406, reason: 'Not Acceptable' };
  }
  return undefined;
}
