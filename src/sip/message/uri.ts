/**
 * SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966) and opaque URIs of other
 * schemes (kept so that a UAS can answer 416, RFC 3261 §8.2.2.1).
 *
 * Parsed values are unescaped (user, password, parameter names and values,
 * header names and values); formatUri escapes them again with the character
 * sets of RFC 3261 §25.1. Pure functions, no I/O.
 */
import type { SipUri } from './types.ts';

function charSet(extra: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (let i = 0; i < extra.length; i++) t[extra.charCodeAt(i)] = 1;
  return t;
}

const MARK = "-_.!~*'()";
/** user = 1*( unreserved / escaped / user-unreserved ) */
const USER_SAFE = charSet(MARK + '&=+$,;?/');
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
const PASSWORD_SAFE = charSet(MARK + '&=+$,');
/** paramchar = param-unreserved / unreserved / escaped */
const PARAM_SAFE = charSet(MARK + '[]/:&+$');
/** hnv-unreserved / unreserved */
const HEADER_SAFE = charSet(MARK + '[]/?:+$');
/** RFC 3966 global/local number digits and visual separators. */
const TEL_SAFE = charSet(MARK + '+&=$,/:');
/** Host names: alphanum, "-", "." (and "_", seen in the wild). */
const HOST_CHARS = charSet('-._');
const HEX = charSet('');

/** Characters never allowed anywhere in a URI as it appears in a message. */
function hasForbiddenChar(s: string, opaque: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return true;
    if (c === 0x22 || c === 0x3c || c === 0x3e) return true; // " < >
    // \ ^ ` { | } (a raw "#" is accepted: phones send it for "*21#"-style users)
    if (!opaque && (c === 0x5c || c === 0x5e || c === 0x60 || c === 0x7b || c === 0x7c || c === 0x7d))
      return true;
  }
  return false;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * %HH-unescapes a URI component. A "%" not followed by two hex digits is kept
 * as a literal "%" (lenient). Octets are decoded as UTF-8.
 */
export function unescapeUri(s: string): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < s.length) {
      const h = hexVal(s.charCodeAt(i + 1));
      const l = hexVal(s.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) {
        bytes.push(h * 16 + l);
        i += 2;
        continue;
      }
    }
    if (c < 0x80) bytes.push(c);
    else for (const b of Buffer.from(s[i] ?? '', 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** %HH-escapes every character of `s` outside `safe` (UTF-8 octets). */
function escapeWith(s: string, safe: Uint8Array): string {
  let clean = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || safe[c] !== 1) {
      clean = false;
      break;
    }
  }
  if (clean) return s;
  const out: string[] = [];
  for (const b of Buffer.from(s, 'utf8')) {
    if (b < 0x80 && safe[b] === 1) out.push(String.fromCharCode(b));
    else out.push('%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase());
  }
  return out.join('');
}

function isScheme(s: string): boolean {
  if (s.length === 0) return false;
  const c0 = s.charCodeAt(0);
  if (!((c0 >= 0x61 && c0 <= 0x7a) || (c0 >= 0x41 && c0 <= 0x5a))) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!(c < 0x80 && (HEX[c] === 1 || c === 0x2b || c === 0x2d || c === 0x2e))) return false;
  }
  return true;
}

function isHostName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || HOST_CHARS[c] !== 1) return false;
  }
  return true;
}

function isIPv6Ref(s: string): boolean {
  if (s.length < 2) return false;
  let colons = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3a) colons++;
    else if (!(hexVal(c) >= 0 || c === 0x2e)) return false;
  }
  return colons >= 2;
}

/** Parses ";a=b;c" URI parameters (leading ";" already stripped). */
function parseUriParams(s: string, into: Map<string, string | null>): boolean {
  if (s.length === 0) return true;
  for (const part of s.split(';')) {
    const eq = part.indexOf('=');
    const name = unescapeUri(eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    if (name.length === 0) return false;
    into.set(name, eq < 0 ? null : unescapeUri(part.slice(eq + 1)));
  }
  return true;
}

function parseUriHeaders(s: string, into: Map<string, string>): boolean {
  if (s.length === 0) return true;
  for (const part of s.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return false;
    into.set(unescapeUri(part.slice(0, eq)), unescapeUri(part.slice(eq + 1)));
  }
  return true;
}

/**
 * Parses a URI as it appears in a Request-URI or inside <> (no surrounding
 * whitespace). Returns undefined when it is not a well-formed URI.
 *
 * - sip:/sips: per RFC 3261 §19.1.1 (the user part may contain ";" and "?",
 *   everything before the first "@" is userinfo);
 * - tel: the number goes to `user`, host is '';
 * - any other syntactically valid scheme: host '' and everything after the
 *   colon in `opaque`, so the caller can answer 416.
 */
export function parseUri(s: string): SipUri | undefined {
  const colon = s.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = s.slice(0, colon).toLowerCase();
  if (!isScheme(scheme)) return undefined;
  const rest = s.slice(colon + 1);
  const params = new Map<string, string | null>();
  const headers = new Map<string, string>();

  if (scheme !== 'sip' && scheme !== 'sips') {
    if (rest.length === 0 || hasForbiddenChar(rest, true)) return undefined;
    if (scheme === 'tel') {
      const semi = rest.indexOf(';');
      const number = unescapeUri(semi < 0 ? rest : rest.slice(0, semi));
      if (number.length === 0) return undefined;
      if (semi >= 0 && !parseUriParams(rest.slice(semi + 1), params)) return undefined;
      return { scheme, user: number, host: '', params, headers };
    }
    return { scheme, host: '', params, headers, opaque: rest };
  }

  if (hasForbiddenChar(rest, false)) return undefined;
  let user: string | undefined;
  let password: string | undefined;
  let hostStart = 0;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const pc = userinfo.indexOf(':');
    const rawUser = pc < 0 ? userinfo : userinfo.slice(0, pc);
    if (rawUser.length === 0) return undefined;
    user = unescapeUri(rawUser);
    if (pc >= 0) password = unescapeUri(userinfo.slice(pc + 1));
    hostStart = at + 1;
  }

  let host: string;
  let i: number;
  if (rest.charCodeAt(hostStart) === 0x5b) {
    const close = rest.indexOf(']', hostStart);
    if (close < 0) return undefined;
    host = rest.slice(hostStart + 1, close);
    if (!isIPv6Ref(host)) return undefined;
    i = close + 1;
  } else {
    i = hostStart;
    while (i < rest.length) {
      const c = rest.charCodeAt(i);
      if (c === 0x3a || c === 0x3b || c === 0x3f) break;
      i++;
    }
    host = rest.slice(hostStart, i);
    if (!isHostName(host)) return undefined;
  }

  let port: number | undefined;
  if (rest.charCodeAt(i) === 0x3a) {
    const ps = ++i;
    while (i < rest.length && rest.charCodeAt(i) >= 0x30 && rest.charCodeAt(i) <= 0x39) i++;
    if (i === ps || i - ps > 5) return undefined;
    port = Number(rest.slice(ps, i));
    if (port > 65535) return undefined;
  }

  const next = rest.charCodeAt(i);
  if (i < rest.length && next !== 0x3b && next !== 0x3f) return undefined;
  const q = rest.indexOf('?', i);
  const paramPart = q < 0 ? rest.slice(i) : rest.slice(i, q);
  if (paramPart.length > 0 && !parseUriParams(paramPart.slice(1), params)) return undefined;
  if (q >= 0 && !parseUriHeaders(rest.slice(q + 1), headers)) return undefined;

  const uri: SipUri = { scheme, host, params, headers };
  if (user !== undefined) uri.user = user;
  if (password !== undefined) uri.password = password;
  if (port !== undefined) uri.port = port;
  return uri;
}

function formatParams(params: Map<string, string | null>): string {
  let out = '';
  for (const [name, value] of params) {
    out += ';' + escapeWith(name, PARAM_SAFE);
    if (value !== null) out += '=' + escapeWith(value, PARAM_SAFE);
  }
  return out;
}

/** Formats a URI, escaping what needs escaping (the inverse of parseUri). */
export function formatUri(u: SipUri): string {
  const scheme = u.scheme.toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') {
    let out = scheme + ':';
    if (u.user !== undefined) {
      out += escapeWith(u.user, USER_SAFE);
      if (u.password !== undefined) out += ':' + escapeWith(u.password, PASSWORD_SAFE);
      out += '@';
    }
    out += u.host.includes(':') ? `[${u.host}]` : u.host;
    if (u.port !== undefined) out += ':' + u.port;
    out += formatParams(u.params);
    if (u.headers.size > 0) {
      const hs: string[] = [];
      for (const [n, v] of u.headers) hs.push(escapeWith(n, HEADER_SAFE) + '=' + escapeWith(v, HEADER_SAFE));
      out += '?' + hs.join('&');
    }
    return out;
  }
  if (scheme === 'tel') return 'tel:' + escapeWith(u.user ?? '', TEL_SAFE) + formatParams(u.params);
  if (u.opaque !== undefined) return scheme + ':' + u.opaque;
  return scheme + ':' + (u.user !== undefined ? escapeWith(u.user, USER_SAFE) + '@' : '') + u.host;
}
