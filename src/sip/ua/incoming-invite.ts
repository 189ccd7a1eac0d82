import { Dialog, newTag } from '../dialog/dialog.ts';
import { buildResponse } from '../message/build.ts';
import { getHeader, getHeaderValues, parseNameAddr, tagOf } from '../message/headers.ts';
import type { CSeq, HeaderField, SipRequest, SipResponse, Via } from '../message/types.ts';
import { formatUri } from '../message/uri.ts';
import { allowsUpdate } from '../session-timer.ts';
import type { IncomingRequest } from '../stack.ts';
import type { ServerTransaction } from '../transaction/server.ts';
import type { Endpoint } from '../transport/transport.ts';
import { StatefulFlow, type TransitionTable } from '../../util/state-machine.ts';
import { InviteSession, bodyText, type SessionHost } from './invite-session.ts';

/** An incoming request the UA acts on: it has a transaction and a well-formed CSeq. */
export type ReceivedRequest = IncomingRequest & { tx: ServerTransaction; cseq: CSeq };

/** What an incoming INVITE needs from the UA that received it. */
export interface IncomingInviteHost extends SessionHost {
  /** A response with our Contact (for INVITE/UPDATE), Allow and Server headers. */
  response(
    req: { request: SipRequest; via: Via },
    status: number,
    toTag: string | undefined,
    sdp?: string,
    extra?: HeaderField[],
  ): SipResponse;
  contactFor(transport: Endpoint['transport'], user?: string, peer?: string): string;
  /** The INVITE got its final answer: CANCEL can no longer find it. */
  forgetInvite(invite: IncomingInvite): void;
}

/**
 *   pending ──1xx──▶ early ──1xx──▶ early
 *   pending | early ──200──▶ accepted ──ACK──▶ confirmed
 *                                     └──no ACK (or a BYE first)──▶ failed
 *   pending | early ──3xx–6xx──▶ rejected        ──CANCEL (487)──▶ cancelled
 *
 * Only pending and early may still be answered: a late answer is refused.
 */
export type IncomingInviteState =
  'pending' | 'early' | 'accepted' | 'confirmed' | 'failed' | 'rejected' | 'cancelled';

export const INCOMING_INVITE_TRANSITIONS: TransitionTable<IncomingInviteState> = {
  pending: ['early', 'accepted', 'rejected', 'cancelled'],
  early: ['early', 'accepted', 'rejected', 'cancelled'],
  accepted: ['confirmed', 'failed'],
  confirmed: [],
  failed: [],
  rejected: [],
  cancelled: [],
};

/** An INVITE we received and have not finished answering (UAS, §13.3). */
export class IncomingInvite extends StatefulFlow<IncomingInviteState> {
  readonly localTag = newTag();
  onCancel: (() => void) | null = null;
  session: InviteSession | undefined;
  readonly request: SipRequest;
  readonly source: Endpoint;
  readonly tx: ServerTransaction;
  /** Top Via and CSeq as the stack parsed them on arrival. */
  readonly via: Via;
  readonly cseq: CSeq;

  constructor(
    readonly host: IncomingInviteHost,
    incoming: ReceivedRequest,
  ) {
    super({
      name: 'incoming-invite',
      initial: 'pending',
      transitions: INCOMING_INVITE_TRANSITIONS,
      clock: host.clock,
    });
    this.request = incoming.request;
    this.source = incoming.source;
    this.tx = incoming.tx;
    this.via = incoming.via;
    this.cseq = incoming.cseq;
  }

  get offer(): string | undefined {
    return bodyText(this.request);
  }

  get callId(): string {
    return getHeader(this.request, 'call-id') ?? '';
  }

  /** The caller's identity: the From URI user and display name. */
  get caller(): { user: string; displayName: string | undefined } {
    const from = parseNameAddr(getHeader(this.request, 'from') ?? '');
    return { user: from?.uri.user ?? '', displayName: from?.displayName };
  }

  get calledUser(): string {
    return this.request.uri.user ?? '';
  }

  provisional(status: 180 | 183, sdp?: string): void {
    if (!this.machine.transition('early', String(status))) return;
    this.tx.respond(this.host.response(this, status, this.localTag, sdp));
  }

  reject(status: number, reason?: string, headers: HeaderField[] = []): void {
    if (!this.machine.transition('rejected', String(status))) return;
    this.host.forgetInvite(this);
    const res = buildResponse(this.request, status, { reason, toTag: this.localTag, headers });
    this.tx.respond(res);
  }

  /**
   * Sends 200 OK with our SDP and waits for the ACK. The dialog exists from the
   * 200 on (a BYE may overtake the ACK). Resolves with the session, or
   * undefined when the ACK never came (we then hang up) or the call was cancelled.
   */
  accept(
    sdp: string,
    headers: HeaderField[] = [],
  ): Promise<{ session: InviteSession; ack: SipRequest } | undefined> {
    if (!this.machine.transition('accepted', '200')) return Promise.resolve(undefined);
    this.host.forgetInvite(this);
    const res = this.host.response(this, 200, this.localTag, sdp, headers);
    const session = this.createSession(res);
    this.session = session;
    this.tx.respond(res);
    return new Promise((resolve) => {
      session.retransmit2xx(res, (ack) => {
        this.machine.transition(ack ? 'confirmed' : 'failed', ack ? 'ACK' : 'no ACK');
        resolve(ack ? { session, ack } : undefined);
      });
    });
  }

  /** A CANCEL arrived (§9.2): answer 487 unless we already answered. */
  cancelled(): void {
    if (!this.machine.transition('cancelled', 'CANCEL')) return;
    this.host.forgetInvite(this);
    this.tx.respond(buildResponse(this.request, 487, { toTag: this.localTag }));
    this.onCancel?.();
  }

  /** §12.1.1: the UAS side of the dialog our 2xx `res` creates. */
  private createSession(res: SipResponse): InviteSession {
    const req = this.request;
    const from = parseNameAddr(getHeader(req, 'from') ?? '');
    const to = parseNameAddr(getHeader(req, 'to') ?? '');
    const contact = parseNameAddr(getHeader(req, 'contact') ?? '');
    const dialog = new Dialog({
      callId: this.callId,
      localTag: this.localTag,
      remoteTag: tagOf(getHeader(req, 'from') ?? '') ?? '',
      localUri: to ? `<${formatUri(to.uri)}>` : '<sip:agentline@invalid>',
      remoteUri: from ? `<${formatUri(from.uri)}>` : '<sip:anonymous@invalid>',
      remoteTarget: contact?.uri ?? from?.uri ?? req.uri,
      routeSet: getHeaderValues(req, 'record-route'),
      localSeq: Math.floor(Math.random() * 10000),
      remoteSeq: this.cseq.seq,
      flow: this.tx.responseTarget,
      contact:
        getHeader(res, 'contact') ??
        this.host.contactFor(this.source.transport, undefined, this.source.address),
    });
    return new InviteSession(this.host, dialog, 'uas', allowsUpdate(req), bodyText(res));
  }
}
