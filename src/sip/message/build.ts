/**
 * Building responses to requests (RFC 3261 §8.2.6) and the requests derived
 * from a request we sent: CANCEL (§9.1), the ACK for a non-2xx (§17.1.1.3) and
 * a retry as a new transaction (§8.1.3.5), and new out-of-dialog requests (§8.1.1). Pure apart from the random To tag
 * buildBadRequest adds.
 */
import { randomBytes } from 'node:crypto';
import type { HeaderField, PartialRequest, SipRequest, SipResponse, SipUri } from './types.ts';
import { formatUri } from './uri.ts';
import { getHeader, headerKey, parseCSeq, parseNameAddr, parseVia, tagOf } from './headers.ts';

const REASONS = new Map<number, string>([
  [100, 'Trying'],
  [180, 'Ringing'],
  [181, 'Call Is Being Forwarded'],
  [182, 'Queued'],
  [183, 'Session Progress'],
  [199, 'Early Dialog Terminated'],
  [200, 'OK'],
  [202, 'Accepted'],
  [204, 'No Notification'],
  [300, 'Multiple Choices'],
  [301, 'Moved Permanently'],
  [302, 'Moved Temporarily'],
  [305, 'Use Proxy'],
  [380, 'Alternative Service'],
  [400, 'Bad Request'],
  [401, 'Unauthorized'],
  [402, 'Payment Required'],
  [403, 'Forbidden'],
  [404, 'Not Found'],
  [405, 'Method Not Allowed'],
  [406, 'Not Acceptable'],
  [407, 'Proxy Authentication Required'],
  [408, 'Request Timeout'],
  [410, 'Gone'],
  [412, 'Conditional Request Failed'],
  [413, 'Request Entity Too Large'],
  [414, 'Request-URI Too Long'],
  [415, 'Unsupported Media Type'],
  [416, 'Unsupported URI Scheme'],
  [417, 'Unknown Resource-Priority'],
  [420, 'Bad Extension'],
  [421, 'Extension Required'],
  [422, 'Session Interval Too Small'],
  [423, 'Interval Too Brief'],
  [428, 'Use Identity Header'],
  [429, 'Provide Referrer Identity'],
  [433, 'Anonymity Disallowed'],
  [436, 'Bad Identity-Info'],
  [437, 'Unsupported Certificate'],
  [438, 'Invalid Identity Header'],
  [439, 'First Hop Lacks Outbound Support'],
  [440, 'Max-Breadth Exceeded'],
  [469, 'Bad Info Package'],
  [470, 'Consent Needed'],
  [480, 'Temporarily Unavailable'],
  [481, 'Call/Transaction Does Not Exist'],
  [482, 'Loop Detected'],
  [483, 'Too Many Hops'],
  [484, 'Address Incomplete'],
  [485, 'Ambiguous'],
  [486, 'Busy Here'],
  [487, 'Request Terminated'],
  [488, 'Not Acceptable Here'],
  [489, 'Bad Event'],
  [491, 'Request Pending'],
  [493, 'Undecipherable'],
  [494, 'Security Agreement Required'],
  [500, 'Server Internal Error'],
  [501, 'Not Implemented'],
  [502, 'Bad Gateway'],
  [503, 'Service Unavailable'],
  [504, 'Server Time-out'],
  [505, 'Version Not Supported'],
  [513, 'Message Too Large'],
  [555, 'Push Notification Service Not Supported'],
  [580, 'Precondition Failure'],
  [600, 'Busy Everywhere'],
  [603, 'Decline'],
  [604, 'Does Not Exist Anywhere'],
  [606, 'Not Acceptable'],
  [607, 'Unwanted'],
  [608, 'Rejected'],
]);

const CLASS_REASONS = [
  '',
  'Provisional',
  'Success',
  'Redirection',
  'Request Failure',
  'Server Failure',
  'Global Failure',
];

/** The usual reason phrase of a status code (a class default for unknown codes). */
export function reasonPhrase(status: number): string {
  return REASONS.get(status) ?? CLASS_REASONS[Math.floor(status / 100)] ?? 'Unknown';
}

/** A fresh random tag for To/From (RFC 3261 §19.3: at least 32 bits of randomness). */
export function randomTag(): string {
  return randomBytes(8).toString('hex');
}

/** Methods that create a dialog, whose 101–299 responses carry Record-Route (§12.1.1). */
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

function withTag(to: string, tag: string): string {
  return tagOf(to) === undefined && parseNameAddr(to) ? `${to};tag=${tag}` : to;
}

export interface ResponseOptions {
  reason?: string;
  /** Added to To when To has no tag yet. */
  toTag?: string;
  /** Extra headers, appended after the copied ones. */
  headers?: HeaderField[];
  body?: Buffer;
  /** Content-Type of `body`. */
  contentType?: string;
}

function copyHeaders(from: readonly HeaderField[], key: string, name: string, into: HeaderField[]): void {
  for (const h of from) if (headerKey(h.name) === key) into.push({ name, value: h.value });
}

/**
 * A response to `req` (RFC 3261 §8.2.6.2): all Via lines in order, From, To
 * (with `toTag` added when it has none), Call-ID, CSeq; Record-Route for
 * 101–299 to INVITE/SUBSCRIBE/REFER; Timestamp for 100 (§8.2.6.1). Content-Length
 * is written by serializeMessage.
 */
export function buildResponse(req: SipRequest, status: number, opts: ResponseOptions = {}): SipResponse {
  const headers: HeaderField[] = [];
  copyHeaders(req.headers, 'via', 'Via', headers);
  copyHeaders(req.headers, 'from', 'From', headers);
  for (const h of req.headers) {
    if (headerKey(h.name) === 'to')
      headers.push({ name: 'To', value: opts.toTag !== undefined ? withTag(h.value, opts.toTag) : h.value });
  }
  copyHeaders(req.headers, 'call-id', 'Call-ID', headers);
  copyHeaders(req.headers, 'cseq', 'CSeq', headers);
  if (status > 100 && status < 300 && DIALOG_CREATING.has(req.method)) {
    copyHeaders(req.headers, 'record-route', 'Record-Route', headers);
  }
  if (status === 100) copyHeaders(req.headers, 'timestamp', 'Timestamp', headers);
  if (opts.headers) headers.push(...opts.headers);
  const body = opts.body ?? Buffer.alloc(0);
  if (body.length > 0 && opts.contentType !== undefined)
    headers.push({ name: 'Content-Type', value: opts.contentType });
  return {
    kind: 'response',
    version: 'SIP/2.0',
    status,
    reason: opts.reason ?? reasonPhrase(status),
    headers,
    body,
  };
}

/**
 * A 400 for a request that could not be parsed. Needs a parseable top Via
 * (where to send it) and a CSeq (so the client can match it); From, To and
 * Call-ID are copied when present. Never for ACK (§17.2.3: ACK gets no
 * response). `reason` becomes the reason phrase. Undefined → drop.
 */
export function buildBadRequest(partial: PartialRequest, reason: string): SipResponse | undefined {
  if (partial.method === 'ACK') return undefined;
  const via = getHeader(partial, 'Via');
  if (via === undefined || !parseVia(via)) return undefined;
  if (getHeader(partial, 'CSeq') === undefined) return undefined;
  const headers: HeaderField[] = [];
  copyHeaders(partial.headers, 'via', 'Via', headers);
  copyHeaders(partial.headers, 'from', 'From', headers);
  const tag = randomTag();
  for (const h of partial.headers)
    if (headerKey(h.name) === 'to') headers.push({ name: 'To', value: withTag(h.value, tag) });
  copyHeaders(partial.headers, 'call-id', 'Call-ID', headers);
  copyHeaders(partial.headers, 'cseq', 'CSeq', headers);
  const phrase = reason.replace(/[\r\n]+/g, ' ').trim() || reasonPhrase(400);
  return {
    kind: 'response',
    version: 'SIP/2.0',
    status: 400,
    reason: phrase,
    headers,
    body: Buffer.alloc(0),
  };
}

/** The header lines of `req` whose key (lower-case, compact forms expanded) is `key`. */
function pick(req: SipRequest, key: string): HeaderField[] {
  return req.headers.filter((h) => headerKey(h.name) === key);
}

function seqOf(req: SipRequest): number {
  return parseCSeq(getHeader(req, 'cseq') ?? '')?.seq ?? 1;
}

/** What an out-of-dialog request we originate carries besides its method and Request-URI. */
export interface NewRequest {
  via: string;
  from: string;
  to: string;
  callId: string;
  cseq: number;
  /** After the mandatory ones (§8.1.1), in this order. */
  headers?: HeaderField[];
}

/** §8.1.1: a new request outside a dialog with the mandatory headers, Max-Forwards 70, no body. */
export function buildRequest(method: string, uri: SipUri, r: NewRequest): SipRequest {
  return {
    kind: 'request',
    method,
    uri,
    rawUri: formatUri(uri),
    version: 'SIP/2.0',
    headers: [
      { name: 'Via', value: r.via },
      { name: 'Max-Forwards', value: '70' },
      { name: 'From', value: r.from },
      { name: 'To', value: r.to },
      { name: 'Call-ID', value: r.callId },
      { name: 'CSeq', value: `${r.cseq} ${method}` },
      ...(r.headers ?? []),
    ],
    body: Buffer.alloc(0),
  };
}

/**
 * §9.1: the CANCEL for an INVITE we sent: its top Via (same branch), Route,
 * From, To, Call-ID and the CSeq number with method CANCEL.
 */
export function buildCancel(invite: SipRequest): SipRequest {
  return {
    ...invite,
    method: 'CANCEL',
    headers: [
      ...pick(invite, 'via').slice(0, 1),
      ...pick(invite, 'route'),
      { name: 'Max-Forwards', value: '70' },
      ...pick(invite, 'from'),
      ...pick(invite, 'to'),
      ...pick(invite, 'call-id'),
      { name: 'CSeq', value: `${seqOf(invite)} CANCEL` },
    ],
    body: Buffer.alloc(0),
  };
}

/** §17.1.1.3: the ACK for a non-2xx final response, inside the INVITE transaction. */
export function buildNon2xxAck(req: SipRequest, res: SipResponse): SipRequest {
  const headers: HeaderField[] = [
    ...pick(req, 'via').slice(0, 1),
    ...pick(req, 'route'),
    ...pick(req, 'max-forwards'),
    ...pick(req, 'from'),
    { name: 'To', value: getHeader(res, 'to') ?? getHeader(req, 'to') ?? '' },
    ...pick(req, 'call-id'),
    { name: 'CSeq', value: `${seqOf(req)} ACK` },
  ];
  return {
    kind: 'request',
    method: 'ACK',
    uri: req.uri,
    rawUri: req.rawUri,
    version: 'SIP/2.0',
    headers,
    body: Buffer.alloc(0),
  };
}

/**
 * `req` again as a new transaction in the same call (§8.1.3.5; RFC 4028 §7.1):
 * one Via, `via` (with a fresh branch), in place of its Via lines; CSeq + 1;
 * the other headers in order, each passed through `rewrite` (which may drop
 * one by returning undefined); `append` at the end.
 */
export function buildRetry(
  req: SipRequest,
  via: string,
  rewrite: (key: string, h: HeaderField) => HeaderField | undefined = (_k, h) => h,
  append: HeaderField[] = [],
): SipRequest {
  const seq = seqOf(req);
  const headers: HeaderField[] = [];
  let viaDone = false;
  for (const h of req.headers) {
    const key = headerKey(h.name);
    if (key === 'via') {
      if (!viaDone) headers.push({ name: 'Via', value: via });
      viaDone = true;
    } else if (key === 'cseq') headers.push({ name: 'CSeq', value: `${seq + 1} ${req.method}` });
    else {
      const kept = rewrite(key, h);
      if (kept) headers.push(kept);
    }
  }
  headers.push(...append);
  return { ...req, headers };
}
