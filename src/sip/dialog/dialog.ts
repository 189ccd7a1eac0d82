import { randomBytes } from 'node:crypto';
import type { HeaderField, SipRequest, SipUri } from '../message/types.ts';
import type { Endpoint } from '../transport/transport.ts';
import { formatUri } from '../message/uri.ts';

/**
 * A dialog, RFC 3261 §12: the state two user agents share for one call. It
 * builds in-dialog requests (§12.2.1.1) with the route set and CSeq numbering.
 * In-dialog requests go to the flow the dialog was set up over (the endpoint
 * the INVITE came from, or the one we sent it to): that follows Record-Route
 * through the previous hop and works for phones behind NAT, and we never send
 * to a host taken from a Contact header.
 */
export interface DialogInit {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** Our From/To header value without tag, e.g. `<sip:9000@127.0.0.1>`. */
  localUri: string;
  remoteUri: string;
  remoteTarget: SipUri;
  routeSet: string[];
  localSeq: number;
  remoteSeq: number;
  flow: Endpoint;
  contact: string;
}

export class Dialog {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly localUri: string;
  readonly remoteUri: string;
  remoteTarget: SipUri;
  readonly routeSet: string[];
  localSeq: number;
  remoteSeq: number;
  readonly flow: Endpoint;
  readonly contact: string;

  constructor(init: DialogInit) {
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.flow = init.flow;
    this.contact = init.contact;
  }

  get id(): string {
    return dialogId(this.callId, this.localTag, this.remoteTag);
  }

  /** §12.2.1.1. `via` is the Via value with a fresh branch, made by the UA. */
  createRequest(method: string, via: string, extra: HeaderField[] = [], body?: Buffer): SipRequest {
    const seq = method === 'ACK' || method === 'CANCEL' ? this.localSeq : ++this.localSeq;
    return this.build(method, seq, via, extra, body);
  }

  /**
   * §13.2.2.4, §14.1: the ACK for the 2xx to our INVITE number `seq` (a later
   * request may have moved the dialog's CSeq on), with a late offer's answer.
   */
  createAck(seq: number, via: string, body?: { contentType: string; body: Buffer }): SipRequest {
    const extra = body ? [{ name: 'Content-Type', value: body.contentType }] : [];
    return this.build('ACK', seq, via, extra, body?.body);
  }

  private build(method: string, seq: number, via: string, extra: HeaderField[], body?: Buffer): SipRequest {
    const headers: HeaderField[] = [
      { name: 'Via', value: via },
      { name: 'Max-Forwards', value: '70' },
      ...this.routeSet.map((value) => ({ name: 'Route', value })),
      { name: 'From', value: `${this.localUri};tag=${this.localTag}` },
      { name: 'To', value: `${this.remoteUri};tag=${this.remoteTag}` },
      { name: 'Call-ID', value: this.callId },
      { name: 'CSeq', value: `${seq} ${method}` },
      { name: 'Contact', value: this.contact },
      ...extra,
    ];
    return {
      kind: 'request',
      method,
      uri: this.remoteTarget,
      rawUri: formatUri(this.remoteTarget),
      version: 'SIP/2.0',
      headers,
      body: body ?? Buffer.alloc(0),
    };
  }
}

export const dialogId = (callId: string, localTag: string, remoteTag: string): string =>
  `${callId}|${localTag}|${remoteTag}`;

export const newTag = (): string => randomBytes(6).toString('hex');
export const newCallId = (): string => randomBytes(12).toString('hex');
