/**
 * SIP message model (RFC 3261 §7). Headers keep their order and original
 * spelling; lookups are case-insensitive and understand compact forms.
 * Pure data: no I/O here.
 */

export interface SipUri {
  /** Lower-case: 'sip', 'sips', 'tel', or another scheme (then see `opaque`). */
  scheme: string;
  user?: string; // unescaped user part (for tel: the number)
  password?: string;
  host: string; // hostname, IPv4, or IPv6 reference WITHOUT brackets
  port?: number;
  params: Map<string, string | null>; // uri-parameters, names lower-cased
  headers: Map<string, string>; // ?headers part
  /** Schemes other than sip/sips/tel: everything after "scheme:", unparsed (host is ''). */
  opaque?: string;
}

export interface NameAddr {
  displayName?: string;
  uri: SipUri;
  params: Map<string, string | null>; // header params (tag, expires, q …), names lower-cased
}

export interface Via {
  protocol: string; // "SIP/2.0"
  transport: string; // upper-case: UDP, TCP, TLS, …
  host: string; // sent-by host, IPv6 without brackets
  port?: number;
  params: Map<string, string | null>; // branch, received, rport (null when no value) …
}

export interface CSeq {
  seq: number;
  method: string;
}

/** One header field line as received or to be sent: name as written, raw value. */
export interface HeaderField {
  name: string;
  value: string;
}

export interface SipRequest {
  kind: 'request';
  method: string;
  uri: SipUri;
  /** The Request-URI exactly as it appeared on the request line. */
  rawUri: string;
  version: string;
  headers: HeaderField[];
  body: Buffer;
}

export interface SipResponse {
  kind: 'response';
  version: string;
  status: number;
  reason: string;
  headers: HeaderField[];
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

export type ParseResult =
  | {
      ok: true;
      message: SipMessage;
      /** bytes consumed (for stream framing) */ length: number;
      /** A response's top Via and CSeq, parsed while checking them (so not parsed again). */
      top?: { via: Via; cseq: CSeq };
    }
  | {
      ok: false;
      error: string;
      /** a request line was readable: a 400 can be sent */ request?: PartialRequest;
    };

/** What we could salvage of a malformed request so that a 400 can be addressed. */
export interface PartialRequest {
  method: string;
  headers: HeaderField[];
}
