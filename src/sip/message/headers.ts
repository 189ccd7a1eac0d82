/**
 * Header field access and the grammar of the header fields the stack itself
 * reads: Via, name-addr (From, To, Contact, Route, …), CSeq and generic
 * parameters (RFC 3261 §7.3, §20, §25.1). Pure functions, no I/O.
 *
 * Header values are kept raw in HeaderField; these helpers parse on demand.
 * Parameter values are kept as written: a quoted-string value keeps its quotes
 * (use `unquote`), names are lower-cased.
 */
import type { CSeq, HeaderField, NameAddr, Via } from './types.ts';
import { formatUri, parseUri } from './uri.ts';

/** Anything with headers: a request, a response, or a PartialRequest. */
export interface HeaderBag {
  readonly headers: readonly HeaderField[];
}

/** RFC 3261 §7.3.3 and later RFCs' compact forms → lower-case full names. */
const COMPACT = new Map<string, string>([
  ['i', 'call-id'],
  ['m', 'contact'],
  ['e', 'content-encoding'],
  ['l', 'content-length'],
  ['c', 'content-type'],
  ['f', 'from'],
  ['s', 'subject'],
  ['k', 'supported'],
  ['t', 'to'],
  ['v', 'via'],
  ['o', 'event'],
  ['r', 'refer-to'],
  ['u', 'allow-events'],
  ['x', 'session-expires'],
  ['b', 'referred-by'],
]);

const CANONICAL = new Map<string, string>(
  [
    'Accept',
    'Accept-Encoding',
    'Accept-Language',
    'Alert-Info',
    'Allow',
    'Allow-Events',
    'Authentication-Info',
    'Authorization',
    'Call-ID',
    'Call-Info',
    'Contact',
    'Content-Disposition',
    'Content-Encoding',
    'Content-Language',
    'Content-Length',
    'Content-Type',
    'CSeq',
    'Date',
    'Error-Info',
    'Event',
    'Expires',
    'From',
    'In-Reply-To',
    'Max-Forwards',
    'Min-Expires',
    'Min-SE',
    'MIME-Version',
    'Organization',
    'P-Asserted-Identity',
    'Path',
    'Priority',
    'Proxy-Authenticate',
    'Proxy-Authorization',
    'Proxy-Require',
    'RAck',
    'Reason',
    'Record-Route',
    'Refer-To',
    'Referred-By',
    'Reply-To',
    'Require',
    'Retry-After',
    'Route',
    'RSeq',
    'Server',
    'Service-Route',
    'Session-Expires',
    'Subject',
    'Subscription-State',
    'Supported',
    'Timestamp',
    'To',
    'Unsupported',
    'User-Agent',
    'Via',
    'Warning',
    'WWW-Authenticate',
  ].map((n) => [n.toLowerCase(), n]),
);

/**
 * Headers whose grammar is a comma-separated list (RFC 3261 §7.3.1), so that
 * several values may share one line. Authentication headers are NOT here:
 * their values contain commas of their own.
 */
const LIST_HEADERS = new Set([
  'via',
  'contact',
  'route',
  'record-route',
  'allow',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'accept',
  'accept-encoding',
  'accept-language',
  'allow-events',
  'content-encoding',
  'content-language',
  'in-reply-to',
  'warning',
  'path',
  'service-route',
  'alert-info',
  'call-info',
  'error-info',
  'reason',
  'p-asserted-identity',
]);

/** Lower-case full name: the key used for every comparison. */
export function headerKey(name: string): string {
  const l = name.toLowerCase();
  return l.length === 1 ? (COMPACT.get(l) ?? l) : l;
}

/** The conventional spelling of a header name ("i" → "Call-ID", "cseq" → "CSeq"). */
export function canonicalName(name: string): string {
  const key = headerKey(name);
  const known = CANONICAL.get(key);
  if (known) return known;
  return key
    .split('-')
    .map((p) => (p.length ? p.charAt(0).toUpperCase() + p.slice(1) : p))
    .join('-');
}

export function isListHeader(name: string): boolean {
  return LIST_HEADERS.has(headerKey(name));
}

/**
 * Splits a comma-separated header value, ignoring commas inside quoted strings
 * and inside <…>. Elements are trimmed; empty elements are left out.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
      continue;
    }
    if (c === 0x22) inQuote = true;
    else if (c === 0x3c) inAngle = true;
    else if (c === 0x3e) inAngle = false;
    else if (c === 0x2c && !inAngle) {
      const el = trimLws(value.slice(start, i));
      if (el.length) out.push(el);
      start = i + 1;
    }
  }
  const last = trimLws(value.slice(start));
  if (last.length) out.push(last);
  return out;
}

/** First value of a header (case-insensitive, compact-aware); first element for list headers. */
export function getHeader(msg: HeaderBag, name: string): string | undefined {
  const key = headerKey(name);
  const list = LIST_HEADERS.has(key);
  for (const h of msg.headers) {
    if (headerKey(h.name) !== key) continue;
    if (!list) return h.value;
    const first = splitList(h.value)[0];
    if (first !== undefined) return first;
  }
  return undefined;
}

/** Every value of a header, in order; comma-joined lists split for list headers. */
export function getHeaderValues(msg: HeaderBag, name: string): string[] {
  const key = headerKey(name);
  const list = LIST_HEADERS.has(key);
  const out: string[] = [];
  for (const h of msg.headers) {
    if (headerKey(h.name) !== key) continue;
    if (list) out.push(...splitList(h.value));
    else out.push(h.value);
  }
  return out;
}

/** Number of header lines with this name (a list header on one line counts once). */
export function countHeader(msg: HeaderBag, name: string): number {
  const key = headerKey(name);
  let n = 0;
  for (const h of msg.headers) if (headerKey(h.name) === key) n++;
  return n;
}

/** Replaces every line of `name` by one line (at the first one's place), or appends it. */
export function setHeader(headers: HeaderField[], name: string, value: string): HeaderField[] {
  const key = headerKey(name);
  const idx = headers.findIndex((h) => headerKey(h.name) === key);
  if (idx < 0) {
    headers.push({ name, value });
    return headers;
  }
  headers[idx] = { name, value };
  for (let i = headers.length - 1; i > idx; i--) {
    const h = headers[i];
    if (h && headerKey(h.name) === key) headers.splice(i, 1);
  }
  return headers;
}

export function addHeader(headers: HeaderField[], name: string, value: string): HeaderField[] {
  headers.push({ name, value });
  return headers;
}

/** Removes every line of `name`; returns how many were removed. */
export function removeHeader(headers: HeaderField[], name: string): number {
  const key = headerKey(name);
  let removed = 0;
  for (let i = headers.length - 1; i >= 0; i--) {
    const h = headers[i];
    if (h && headerKey(h.name) === key) {
      headers.splice(i, 1);
      removed++;
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------
// Lexical helpers (RFC 3261 §25.1)

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" ) */
const TOKEN = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;

function isTokenChar(c: number): boolean {
  return c < 0x80 && TOKEN[c] === 1;
}

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Trims SP and HTAB only (not the other characters String.trim removes). */
export function trimLws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWs(s.charCodeAt(a))) a++;
  while (b > a && isWs(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

function readToken(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Reads a quoted-string starting at s[i] === '"'. Returns the index after the
 * closing quote and the unescaped content, or undefined if unterminated.
 */
function readQuoted(s: string, i: number): { end: number; value: string } | undefined {
  const parts: string[] = [];
  let runStart = i + 1;
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c) {
      if (j + 1 >= s.length) return undefined;
      parts.push(s.slice(runStart, j));
      runStart = j + 1; // keep the escaped character
      j++;
    } else if (c === 0x22) {
      parts.push(s.slice(runStart, j));
      return { end: j + 1, value: parts.join('') };
    }
  }
  return undefined;
}

/** Removes the quotes and quoted-pair escapes of a quoted-string; other values are returned as is. */
export function unquote(v: string): string {
  if (v.length >= 2 && v.charCodeAt(0) === 0x22) {
    const q = readQuoted(v, 0);
    if (q && q.end === v.length) return q.value;
  }
  return v;
}

/** Makes a quoted-string, escaping '"', '\' and control characters (CR and LF are dropped). */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) continue;
    if (c === 0x22 || c === 0x5c || (c < 0x20 && c !== 0x09) || c === 0x7f) out += '\\';
    out += s[i];
  }
  return out + '"';
}

/** Characters allowed in an unquoted generic-param value (token / host incl. IPv6). */
function isGenValueChar(c: number): boolean {
  return isTokenChar(c) || c === 0x3a || c === 0x5b || c === 0x5d;
}

/**
 * Parses `*( SEMI generic-param )` starting at i. Stops at the first character
 * that cannot continue the list and returns its index, or -1 on a malformed
 * parameter.
 */
function readParams(s: string, i: number, into: Map<string, string | null>): number {
  for (;;) {
    const j = skipWs(s, i);
    if (j >= s.length || s.charCodeAt(j) !== 0x3b) return j;
    let k = skipWs(s, j + 1);
    const ns = k;
    k = readToken(s, k);
    if (k === ns) return -1;
    const name = s.slice(ns, k).toLowerCase();
    let m = skipWs(s, k);
    if (s.charCodeAt(m) === 0x3d) {
      m = skipWs(s, m + 1);
      if (s.charCodeAt(m) === 0x22) {
        const q = readQuoted(s, m);
        if (!q) return -1;
        into.set(name, s.slice(m, q.end));
        i = q.end;
      } else {
        const vs = m;
        while (m < s.length && isGenValueChar(s.charCodeAt(m))) m++;
        if (m === vs) return -1;
        into.set(name, s.slice(vs, m));
        i = m;
      }
    } else {
      into.set(name, null);
      i = k;
    }
  }
}

/**
 * Parses generic parameters ";a=b;c" (the leading ";" is optional). Names
 * are lower-cased, a parameter without value maps to null, quoted values keep
 * their quotes. Undefined when malformed.
 */
export function parseParams(s: string): Map<string, string | null> | undefined {
  const params = new Map<string, string | null>();
  const start = skipWs(s, 0);
  if (start >= s.length) return params;
  const src = s.charCodeAt(start) === 0x3b ? s : ';' + s;
  const end = readParams(src, 0, params);
  if (end < 0 || skipWs(src, end) !== src.length) return undefined;
  return params;
}

function formatParams(params: Map<string, string | null>): string {
  let out = '';
  for (const [n, v] of params) out += v === null ? `;${n}` : `;${n}=${v}`;
  return out;
}

// ---------------------------------------------------------------------------
// Via (RFC 3261 §20.42)

/**
 * Parses one via-parm: `sent-protocol LWS sent-by *( SEMI via-params )`, with
 * the LWS RFC 3261 allows around "/", ":", ";" and "=". Undefined when malformed.
 */
export function parseVia(v: string): Via | undefined {
  let i = skipWs(v, 0);
  /** The token at `i`, moving past it; undefined when there is none. */
  const token = (): string | undefined => {
    const start = i;
    i = readToken(v, i);
    return i === start ? undefined : v.slice(start, i);
  };
  /** LWS "/" LWS between the parts of sent-protocol; false when the "/" is missing. */
  const slash = (): boolean => {
    i = skipWs(v, i);
    if (v.charCodeAt(i) !== 0x2f) return false;
    i = skipWs(v, i + 1);
    return true;
  };
  const name = token();
  if (name === undefined || !slash()) return undefined;
  const version = token();
  if (version === undefined || !slash()) return undefined;
  const transport = token()?.toUpperCase();
  if (transport === undefined) return undefined;
  const afterTransport = i;
  i = skipWs(v, i);
  if (i === afterTransport) return undefined; // LWS required before sent-by

  let host: string;
  if (v.charCodeAt(i) === 0x5b) {
    const close = v.indexOf(']', i);
    if (close < 0) return undefined;
    host = v.slice(i + 1, close);
    if (!/^[0-9A-Fa-f:.]+$/.test(host) || !host.includes(':')) return undefined;
    i = close + 1;
  } else {
    const h0 = i;
    while (i < v.length) {
      const c = v.charCodeAt(i);
      if (!(
        (c >= 0x30 && c <= 0x39) ||
        (c >= 0x41 && c <= 0x5a) ||
        (c >= 0x61 && c <= 0x7a) ||
        c === 0x2d ||
        c === 0x2e ||
        c === 0x5f
      ))
        break;
      i++;
    }
    host = v.slice(h0, i);
    if (host.length === 0) return undefined;
  }

  let port: number | undefined;
  let j = skipWs(v, i);
  if (v.charCodeAt(j) === 0x3a) {
    j = skipWs(v, j + 1);
    const d0 = j;
    while (j < v.length && v.charCodeAt(j) >= 0x30 && v.charCodeAt(j) <= 0x39) j++;
    if (j === d0 || j - d0 > 5) return undefined;
    port = Number(v.slice(d0, j));
    if (port > 65535) return undefined;
    i = j;
  }

  const params = new Map<string, string | null>();
  const end = readParams(v, i, params);
  if (end < 0 || skipWs(v, end) !== v.length) return undefined;
  const via: Via = { protocol: `${name.toUpperCase()}/${version}`, transport, host, params };
  if (port !== undefined) via.port = port;
  return via;
}

export function formatVia(v: Via): string {
  const host = v.host.includes(':') ? `[${v.host}]` : v.host;
  return `${v.protocol}/${v.transport} ${host}${v.port !== undefined ? ':' + v.port : ''}${formatParams(v.params)}`;
}

// ---------------------------------------------------------------------------
// name-addr / addr-spec (RFC 3261 §20.10, §25.1)

/**
 * Parses `( name-addr / addr-spec ) *( SEMI param )` as in From, To, Contact,
 * Route, Refer-To. Display names may be a quoted-string or tokens separated by
 * LWS. Without <>, parameters after the URI are header parameters (§20.10).
 * Liberal (RFC 4475 §3.1.2.13/14): whitespace just inside <> is ignored, and
 * an addr-spec may carry "?headers".
 */
export function parseNameAddr(v: string): NameAddr | undefined {
  let i = skipWs(v, 0);
  if (i >= v.length) return undefined;
  let displayName: string | undefined;
  let uriText: string;

  if (v.charCodeAt(i) === 0x22) {
    const q = readQuoted(v, i);
    if (!q) return undefined;
    displayName = q.value;
    i = skipWs(v, q.end);
    if (v.charCodeAt(i) !== 0x3c) return undefined;
  } else {
    // tokens up to "<", or an addr-spec
    const lt = v.indexOf('<', i);
    if (lt >= 0) {
      const words = trimLws(v.slice(i, lt));
      if (words.length > 0) {
        for (let k = 0; k < words.length; k++) {
          const c = words.charCodeAt(k);
          if (!isTokenChar(c) && !isWs(c)) return undefined;
        }
        displayName = words.replace(/[ \t]+/g, ' ');
      }
      i = lt;
    }
  }

  if (v.charCodeAt(i) === 0x3c) {
    const gt = v.indexOf('>', i + 1);
    if (gt < 0) return undefined;
    uriText = trimLws(v.slice(i + 1, gt));
    i = gt + 1;
  } else {
    // addr-spec: the URI ends at the first ";" or whitespace
    const a0 = i;
    while (i < v.length) {
      const c = v.charCodeAt(i);
      if (c === 0x3b || isWs(c)) break;
      i++;
    }
    uriText = v.slice(a0, i);
  }

  const uri = parseUri(uriText);
  if (!uri) return undefined;
  const params = new Map<string, string | null>();
  const end = readParams(v, i, params);
  if (end < 0 || skipWs(v, end) !== v.length) return undefined;
  const na: NameAddr = { uri, params };
  if (displayName !== undefined) na.displayName = displayName;
  return na;
}

/** Always writes the <> form, quoting a display name. */
export function formatNameAddr(na: NameAddr): string {
  const dn = na.displayName !== undefined && na.displayName !== '' ? quote(na.displayName) + ' ' : '';
  return `${dn}<${formatUri(na.uri)}>${formatParams(na.params)}`;
}

/** The tag parameter of a From/To value, if any. */
export function tagOf(nameAddrValue: string): string | undefined {
  const tag = parseNameAddr(nameAddrValue)?.params.get('tag');
  return tag ?? undefined;
}

// ---------------------------------------------------------------------------
// CSeq (RFC 3261 §20.16)

const CSEQ_RE = /^[ \t]*([0-9]{1,10})[ \t]+([^ \t]+)[ \t]*$/;

/** `1*DIGIT LWS Method`; the number must fit in 32 bits (RFC 3261 §8.1.1.5). */
export function parseCSeq(v: string): CSeq | undefined {
  const m = CSEQ_RE.exec(v);
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  const seq = Number(m[1]);
  if (seq > 0xffffffff || !isToken(m[2])) return undefined;
  return { seq, method: m[2] };
}
