/**
 * Turning bytes into SIP messages (RFC 3261 §7, §18.3) and framing a stream.
 * Never throws, whatever the input.
 *
 * What parseMessage guarantees:
 * - requests: a well-formed start line, well-formed header lines (folded lines
 *   joined with one SP, values trimmed), a body delimited by Content-Length.
 *   Header *values* are not checked here: run `checkRequest` (validate.ts)
 *   before using a request.
 * - responses: in addition, a status code 100–699, a parseable top Via and
 *   CSeq and present From/To/Call-ID; anything else is dropped (a response
 *   cannot be answered, RFC 4475 §3.1.2.5 and §3.1.2.19).
 *
 * A malformed request whose request line can be read (method, something,
 * SIP-Version) yields `{ ok: false, request }` so that a 400 can be built with
 * `buildBadRequest`; anything else is to be dropped.
 */
import type { HeaderField, ParseResult, SipMessage } from './types.ts';
import { getHeader, headerKey, isToken, parseCSeq, parseVia, trimLws } from './headers.ts';
import { parseUri } from './uri.ts';

/** Largest message accepted, in bytes (datagram or stream frame). */
export const MAX_MESSAGE_SIZE = 65536;

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const VERSION_RE = /^SIP\/[0-9]{1,3}\.[0-9]{1,3}$/i;
const STATUS_RE = /^(SIP\/[0-9]{1,3}\.[0-9]{1,3}) ([0-9]+)(?: (.*))?$/is;

function leadingCrlf(buf: Buffer): number {
  let i = 0;
  while (i + 1 < buf.length && buf[i] === 0x0d && buf[i + 1] === 0x0a) i += 2;
  return i;
}

interface HeaderParse {
  headers: HeaderField[];
  error?: string;
}

/** Header lines after the start line; continuation lines are unfolded. */
function parseHeaderLines(lines: string[]): HeaderParse {
  const headers: HeaderField[] = [];
  let error: string | undefined;
  let last: HeaderField | undefined;
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k] ?? '';
    if (line.includes('\r') || line.includes('\n')) {
      error ??= 'Bare CR or LF in header';
      last = undefined;
      continue;
    }
    const c0 = line.charCodeAt(0);
    if (c0 === 0x20 || c0 === 0x09) {
      const cont = trimLws(line);
      if (!last) {
        error ??= 'Continuation line without header';
        continue;
      }
      if (cont.length) last.value = last.value.length ? `${last.value} ${cont}` : cont;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? trimLws(line.slice(0, colon)) : '';
    if (!isToken(name)) {
      error ??= 'Malformed header line';
      last = undefined;
      continue;
    }
    last = { name, value: trimLws(line.slice(colon + 1)) };
    headers.push(last);
  }
  return error === undefined ? { headers } : { headers, error };
}

/** Content-Length values → number, 'absent', or an error string. */
function contentLength(headers: HeaderField[]): number | 'absent' | { error: string } {
  let value: string | undefined;
  for (const h of headers) {
    if (headerKey(h.name) !== 'content-length') continue;
    if (value !== undefined) return { error: 'Multiple Content-Length values' };
    value = h.value;
  }
  if (value === undefined) return 'absent';
  if (!/^[0-9]{1,9}$/.test(value)) return { error: 'Invalid Content-Length' };
  return Number(value);
}

/** Parses one UDP datagram (or one frame cut by frameStream). */
export function parseMessage(buf: Buffer): ParseResult {
  try {
    return parseUnsafe(buf);
  } catch (err) {
    // Defensive: the code below is written not to throw.
    return { ok: false, error: `Parser failure: ${String(err)}` };
  }
}

function parseUnsafe(buf: Buffer): ParseResult {
  if (buf.length > MAX_MESSAGE_SIZE) return { ok: false, error: 'Message too large' };
  const start = leadingCrlf(buf);
  if (start >= buf.length) return { ok: false, error: 'Empty message (keep-alive)' };

  const headEnd = buf.indexOf(CRLFCRLF, start);
  const headText = buf.toString('utf8', start, headEnd < 0 ? buf.length : headEnd);
  const lines = headText.split('\r\n');
  if (headEnd < 0 && lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const first = lines[0] ?? '';

  // --- start line -----------------------------------------------------------
  if (/^SIP\//i.test(first)) return parseResponse(buf, start, headEnd, first, lines);

  // Liberal about runs of SP between and after the elements (RFC 4475 §3.1.2.9, §3.1.2.10).
  const parts = first.split(' ').filter((p) => p.length > 0);
  const version = parts[parts.length - 1] ?? '';
  const method = parts[0] ?? '';
  if (parts.length < 2 || !VERSION_RE.test(version) || !isToken(method)) {
    return { ok: false, error: 'Unreadable start line' };
  }
  const hp = parseHeaderLines(lines);
  const fail = (error: string): ParseResult => ({
    ok: false,
    error,
    request: { method, headers: hp.headers },
  });
  if (parts.length !== 3) return fail('Malformed Request-URI');
  const rawUri = parts[1] ?? '';
  const uri = parseUri(rawUri);
  if (!uri) return fail('Malformed Request-URI');
  if (hp.error !== undefined) return fail(hp.error);
  if (headEnd < 0) return fail('No empty line after the headers');

  const body = readBody(buf, headEnd, hp.headers);
  if ('error' in body) return fail(body.error);
  const message: SipMessage = {
    kind: 'request',
    method,
    uri,
    rawUri,
    version: version.toUpperCase(),
    headers: hp.headers,
    body: body.body,
  };
  return { ok: true, message, length: body.end };
}

function readBody(
  buf: Buffer,
  headEnd: number,
  headers: HeaderField[],
): { body: Buffer; end: number } | { error: string } {
  const bodyStart = headEnd + 4;
  const cl = contentLength(headers);
  if (typeof cl === 'object') return cl;
  if (cl === 'absent') return { body: Buffer.from(buf.subarray(bodyStart)), end: buf.length };
  if (bodyStart + cl > buf.length) return { error: 'Content-Length larger than message' };
  // Octets after the body are ignored (RFC 3261 §18.3, RFC 4475 §3.1.1.8).
  return { body: Buffer.from(buf.subarray(bodyStart, bodyStart + cl)), end: bodyStart + cl };
}

function parseResponse(
  buf: Buffer,
  _start: number,
  headEnd: number,
  first: string,
  lines: string[],
): ParseResult {
  const m = STATUS_RE.exec(first);
  if (!m || m[1] === undefined || m[2] === undefined) return { ok: false, error: 'Malformed status line' };
  if (m[2].length !== 3) return { ok: false, error: 'Invalid status code' };
  const status = Number(m[2]);
  if (status < 100 || status > 699) return { ok: false, error: 'Invalid status code' };
  const hp = parseHeaderLines(lines);
  if (hp.error !== undefined) return { ok: false, error: hp.error };
  if (headEnd < 0) return { ok: false, error: 'No empty line after the headers' };
  const bag = { headers: hp.headers };
  const viaValue = getHeader(bag, 'Via');
  const cseqValue = getHeader(bag, 'CSeq');
  const via = viaValue === undefined ? undefined : parseVia(viaValue);
  if (!via) return { ok: false, error: 'Malformed Via' };
  const cseq = cseqValue === undefined ? undefined : parseCSeq(cseqValue);
  if (!cseq) return { ok: false, error: 'Malformed CSeq' };
  for (const name of ['From', 'To', 'Call-ID']) {
    if (getHeader(bag, name) === undefined) return { ok: false, error: `Missing ${name}` };
  }
  const body = readBody(buf, headEnd, hp.headers);
  if ('error' in body) return { ok: false, error: body.error };
  const message: SipMessage = {
    kind: 'response',
    version: m[1].toUpperCase(),
    status,
    reason: m[3] ?? '',
    headers: hp.headers,
    body: body.body,
  };
  return { ok: true, message, length: body.end, top: { via, cseq } };
}

/**
 * Finds the end of the first message in a stream buffer (TCP, RFC 3261
 * §18.3: Content-Length is mandatory on streams).
 *
 * - `{ length, keepAlive: true }`: the buffer starts with `length` octets of
 *   CRLF (RFC 5626 keep-alives, or CRLFs allowed before a start line): discard
 *   them, there is no message. (A double CRLF "ping" deserves a CRLF "pong".)
 * - `{ length }`: the first message is `buf.subarray(0, length)`; hand it to
 *   parseMessage.
 * - `'incomplete'`: wait for more bytes.
 * - `{ error }`: framing is broken (no/invalid/conflicting Content-Length, or
 *   a message over MAX_MESSAGE_SIZE); the connection cannot resynchronise and
 *   should be closed.
 */
export function frameStream(
  buf: Buffer,
): { length: number; keepAlive?: true } | 'incomplete' | { error: string } {
  const crlf = leadingCrlf(buf);
  if (crlf > 0) return { length: crlf, keepAlive: true };
  if (buf.length === 0 || (buf.length === 1 && buf[0] === 0x0d)) return 'incomplete';
  const headEnd = buf.indexOf(CRLFCRLF);
  if (headEnd < 0) {
    return buf.length > MAX_MESSAGE_SIZE ? { error: 'Header section too large' } : 'incomplete';
  }
  if (headEnd + 4 > MAX_MESSAGE_SIZE) return { error: 'Header section too large' };
  const lines = buf.toString('latin1', 0, headEnd).split('\r\n');
  const headers: HeaderField[] = [];
  for (let k = 1; k < lines.length; k++) {
    const line = lines[k] ?? '';
    const c0 = line.charCodeAt(0);
    const last = headers[headers.length - 1];
    if ((c0 === 0x20 || c0 === 0x09) && last) {
      last.value = `${last.value} ${trimLws(line)}`.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0)
      headers.push({ name: trimLws(line.slice(0, colon)), value: trimLws(line.slice(colon + 1)) });
  }
  const cl = contentLength(headers);
  if (cl === 'absent') return { error: 'Content-Length missing on a stream' };
  if (typeof cl === 'object') return cl;
  const length = headEnd + 4 + cl;
  if (length > MAX_MESSAGE_SIZE) return { error: 'Message too large' };
  return buf.length < length ? 'incomplete' : { length };
}
