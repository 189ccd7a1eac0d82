import type { Logger } from 'pino';
import type { Clock } from '../../util/clock.ts';
import { dialogId, newTag } from '../dialog/dialog.ts';
import { buildResponse } from '../message/build.ts';
import { getHeader, getHeaderValues, headerKey, parseNameAddr, tagOf } from '../message/headers.ts';
import type { CSeq, HeaderField, SipRequest, SipResponse, Via } from '../message/types.ts';
import { checkRequest } from '../message/validate.ts';
import { isChallenge } from '../registrar/digest-client.ts';
import type { IncomingRequest, SipStack } from '../stack.ts';
import type { ServerTransaction } from '../transaction/server.ts';
import { hostForUri, type Endpoint } from '../transport/transport.ts';
import { ALLOWED_METHODS, CONTENT_TYPES, EXTENSIONS, KNOWN_METHODS, SDP } from './capabilities.ts';
import { IncomingInvite, type IncomingInviteHost, type ReceivedRequest } from './incoming-invite.ts';
import { bodyText, type InviteSession } from './invite-session.ts';
import {
  OutgoingInvite,
  authenticatedRetry,
  buildInvite,
  type OutboundAuth,
  type OutgoingInviteHost,
  type OutgoingInviteOptions,
} from './outgoing-invite.ts';

export interface UaDelegate {
  onInvite(invite: IncomingInvite): void;
  onRegister?(req: SipRequest, source: Endpoint): SipResponse;
}

export interface UserAgentOptions {
  stack: SipStack;
  clock: Clock;
  logger: Logger;
  delegate: UaDelegate;
  userAgent?: string;
  /**
   * A proxy in front (Kamailio, docs/scale-out.md): every out-of-dialog request
   * goes to it with a Route naming it (RFC 3261 §8.1.2, a preloaded loose route).
   */
  outboundProxy?: OutboundProxy;
}

/** Where the front proxy listens (`uri` is its SIP URI, e.g. `sip:10.0.0.5:5060`). */
export interface OutboundProxy {
  uri: string;
  endpoint: Endpoint;
}

/**
 * The UA core (RFC 3261 §8, §12–§15): routes requests to dialogs or to the
 * delegate, answers what needs no application (OPTIONS, CANCEL, stray BYE),
 * and builds and tracks our own INVITEs. The INVITE roles live beside it:
 * incoming-invite.ts (UAS), outgoing-invite.ts (UAC), invite-session.ts (the
 * dialog once answered, with its 2xx retransmission).
 */
export class UserAgent implements IncomingInviteHost, OutgoingInviteHost {
  readonly stack: SipStack;
  readonly clock: Clock;
  readonly log: Logger;
  private readonly sessions = new Map<string, InviteSession>();
  private readonly invitesByTx = new Map<ServerTransaction, IncomingInvite>();
  private readonly serverName: string;
  /** Refuse new calls with 503 (shutdown). */
  refuseNewCalls = false;

  constructor(private readonly opts: UserAgentOptions) {
    this.stack = opts.stack;
    this.clock = opts.clock;
    this.log = opts.logger;
    this.serverName = opts.userAgent ?? 'AgentLine';
    this.stack.onRequest = (incoming) => this.onRequest(incoming);
    this.stack.onStrayResponse = (res, _from, cseq) => this.onStrayResponse(res, cseq);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  get allSessions(): InviteSession[] {
    return [...this.sessions.values()];
  }

  /** `peer`: the IP the message goes to, for --local-nets (util/advertise.ts). */
  contactFor(transport: Endpoint['transport'], user = 'agentline', peer?: string): string {
    const { host, port } = this.stack.localAddress(transport, peer);
    const tp = transport === 'udp' ? '' : `;transport=${transport}`;
    return `<sip:${user}@${hostForUri(host)}:${port}${tp}>`;
  }

  viaFor(transport: Endpoint['transport'], peer?: string): string {
    const { host, port } = this.stack.localAddress(transport, peer);
    return `SIP/2.0/${transport.toUpperCase()} ${hostForUri(host)}:${port};branch=${this.stack.newBranch()};rport`;
  }

  /**
   * A response to `req` with our Contact and Record-Route (101–299 to INVITE
   * or UPDATE: the Contact as the sender of the top Via sees us), Allow and
   * Supported (2xx) and Server.
   */
  response(
    { request: req, via }: { request: SipRequest; via: Via },
    status: number,
    toTag: string | undefined,
    sdp?: string,
    extra: HeaderField[] = [],
  ): SipResponse {
    const headers: HeaderField[] = [...extra];
    if (status < 300 && status > 100 && (req.method === 'INVITE' || req.method === 'UPDATE')) {
      headers.push({
        name: 'Contact',
        value: this.contactFor(transportOfVia(via), undefined, via.params.get('received') ?? via.host),
      });
      for (const rr of getHeaderValues(req, 'record-route'))
        headers.push({ name: 'Record-Route', value: rr });
    }
    if (status >= 200 && status < 300) {
      headers.push({ name: 'Allow', value: ALLOWED_METHODS.join(', ') });
      if (!headers.some((h) => headerKey(h.name) === 'supported'))
        headers.push({ name: 'Supported', value: EXTENSIONS.join(', ') });
    }
    headers.push({ name: 'Server', value: this.serverName });
    return buildResponse(req, status, {
      toTag,
      headers,
      body: sdp === undefined ? undefined : Buffer.from(sdp),
      contentType: sdp === undefined ? undefined : SDP,
    });
  }

  inDialogRequest(
    session: InviteSession,
    method: string,
    extra: HeaderField[] = [],
    body?: Buffer,
  ): SipRequest {
    return session.request(method, extra, body);
  }

  /**
   * §8.1.2: with an outbound proxy, a request outside a dialog goes to the
   * proxy, its Route header (`;lr`) first so the proxy knows it is meant to
   * relay it to the Request-URI. In-dialog requests follow the route set instead.
   */
  private viaProxy(destination: Endpoint, headers: HeaderField[]): Endpoint {
    const proxy = this.opts.outboundProxy;
    if (!proxy || headers.some((h) => headerKey(h.name) === 'route')) return destination;
    const at = headers.findIndex((h) => headerKey(h.name) === 'max-forwards');
    headers.splice(at + 1, 0, { name: 'Route', value: `<${proxy.uri};lr>` });
    return proxy.endpoint;
  }

  /** Places a call (§13.2.1). */
  invite(opts: OutgoingInviteOptions): OutgoingInvite {
    if (this.opts.outboundProxy) {
      const headers = [...(opts.headers ?? [])];
      opts = { ...opts, destination: this.viaProxy(opts.destination, headers), headers };
    }
    const transport = opts.destination.transport;
    const peer = opts.destination.address;
    const req = buildInvite(opts, {
      host: this.stack.localAddress(transport, peer).host,
      via: this.viaFor(transport, peer),
      contact: this.contactFor(transport, undefined, peer),
      userAgent: this.serverName,
    });
    const out = new OutgoingInvite(this, req, opts.destination, opts.answerLateOffer, opts.auth);
    out.start();
    return out;
  }

  /**
   * Sends an out-of-dialog non-INVITE request (REGISTER, OPTIONS) and resolves
   * with its final response, or undefined on timeout. A 401/407 is answered
   * once with `auth`'s credentials (§22.2); a second challenge or a 403 to them
   * is logged at warn and resolved as is.
   */
  request(req: SipRequest, target: Endpoint, auth?: OutboundAuth): Promise<SipResponse | undefined> {
    const destination = this.viaProxy(target, req.headers);
    if (destination !== target) {
      // Our Via as the proxy sees us, not as the target would have.
      const top = req.headers.findIndex((h) => headerKey(h.name) === 'via');
      if (top >= 0)
        req.headers[top] = { name: 'Via', value: this.viaFor(destination.transport, destination.address) };
    }
    const send = (r: SipRequest): Promise<SipResponse | undefined> =>
      new Promise((resolve) => {
        this.stack.sendRequest(r, destination, {
          onResponse: (res) => {
            if (res.status >= 200) resolve(res);
          },
          onTimeout: () => resolve(undefined),
        });
      });
    return send(req).then(async (res) => {
      if (!res || !auth || !isChallenge(res.status)) return res;
      const via = this.viaFor(destination.transport, destination.address);
      const retry = authenticatedRetry(req, res, auth.client, via);
      if (typeof retry === 'string') {
        this.logAuthFailure(auth.label, req.method, res, retry);
        return res;
      }
      const second = await send(retry);
      if (second && (isChallenge(second.status) || second.status === 403))
        this.logAuthFailure(
          auth.label,
          req.method,
          second,
          second.status === 403 ? 'credentials refused' : 'challenged again',
        );
      return second;
    });
  }

  /** One warn line per failed authentication, naming the trunk (never the secret). */
  logAuthFailure(label: string, method: string, res: SipResponse, why: string): void {
    this.log.warn(
      { trunk: label, method, status: res.status, reason: res.reason, why },
      'trunk authentication failed',
    );
  }

  /** ACK for the 2xx to our re-INVITE (§14.1: like the initial one, end to end). */
  ackReinvite(session: InviteSession, seq: number): void {
    session.sendAck(seq);
  }

  sessionById(id: string): InviteSession | undefined {
    return this.sessions.get(id);
  }

  addSession(session: InviteSession): void {
    this.sessions.set(session.dialog.id, session);
  }

  forgetSession(session: InviteSession): void {
    this.sessions.delete(session.dialog.id);
  }

  /** An incoming INVITE got its final answer: CANCEL can no longer find it. */
  forgetInvite(invite: IncomingInvite): void {
    this.invitesByTx.delete(invite.tx);
  }

  private onRequest(incoming: IncomingRequest): void {
    const { request: req, tx } = incoming;
    if (req.method === 'ACK') return this.onAck(req);
    if (!tx) return;
    const problem = checkRequest(
      req,
      { methods: ALLOWED_METHODS, extensions: EXTENSIONS, contentTypes: CONTENT_TYPES },
      incoming,
    );
    if (problem) {
      tx.respond(buildResponse(req, problem.status, { reason: problem.reason, headers: problem.headers }));
      return;
    }
    const cseq = incoming.cseq;
    if (!cseq) return; // checkRequest answered a malformed CSeq with 400
    const received: ReceivedRequest = { ...incoming, tx, cseq };
    const toTag = tagOf(getHeader(req, 'to') ?? '');
    if (toTag) return this.onInDialog(received, toTag);
    switch (req.method) {
      case 'INVITE':
        return this.onInvite(received);
      case 'CANCEL':
        return this.onCancel(received);
      case 'OPTIONS':
        return tx.respond(this.optionsResponse(received));
      case 'REGISTER':
        if (this.opts.delegate.onRegister)
          return tx.respond(this.opts.delegate.onRegister(req, incoming.source));
        return tx.respond(this.methodNotAllowed(req));
      case 'BYE':
      case 'INFO':
      case 'UPDATE':
        return tx.respond(buildResponse(req, 481));
      default:
        return tx.respond(this.methodNotAllowed(req));
    }
  }

  /**
   * §8.2.1: a method we know of but do not do gets 405 with Allow; one we do
   * not recognise at all gets 501 (§21.5.2).
   */
  private methodNotAllowed(req: SipRequest): SipResponse {
    if (!KNOWN_METHODS.has(req.method)) return buildResponse(req, 501);
    return buildResponse(req, 405, { headers: [{ name: 'Allow', value: ALLOWED_METHODS.join(', ') }] });
  }

  private optionsResponse(received: ReceivedRequest): SipResponse {
    return this.response(received, 200, newTag(), undefined, [
      { name: 'Accept', value: CONTENT_TYPES.join(', ') },
      { name: 'Supported', value: EXTENSIONS.join(', ') },
    ]);
  }

  private onInvite(received: ReceivedRequest): void {
    const { request: req, tx } = received;
    if (this.refuseNewCalls) {
      tx.respond(buildResponse(req, 503, { headers: [{ name: 'Retry-After', value: '30' }] }));
      return;
    }
    tx.respond(buildResponse(req, 100));
    const invite = new IncomingInvite(this, received);
    this.invitesByTx.set(tx, invite);
    try {
      this.opts.delegate.onInvite(invite);
    } catch (err) {
      this.log.error({ err }, 'INVITE handler failed');
      invite.reject(500, 'Server Internal Error');
    }
  }

  private onCancel({ request: req, source, tx, via, cseq }: ReceivedRequest): void {
    const inviteTx = this.stack.findInviteFor(req, source, via, cseq);
    const invite = inviteTx ? this.invitesByTx.get(inviteTx) : undefined;
    if (!inviteTx || !invite) {
      tx.respond(buildResponse(req, 481));
      return;
    }
    tx.respond(buildResponse(req, 200, { toTag: invite.localTag }));
    invite.cancelled();
  }

  private findSession(req: SipRequest, toTag: string): InviteSession | undefined {
    const callId = getHeader(req, 'call-id') ?? '';
    const fromTag = tagOf(getHeader(req, 'from') ?? '') ?? '';
    return this.sessions.get(dialogId(callId, toTag, fromTag));
  }

  private onInDialog(received: ReceivedRequest, toTag: string): void {
    const { request: req, tx } = received;
    const session = this.findSession(req, toTag);
    if (!session || session.state === 'terminated') {
      if (req.method === 'OPTIONS') return tx.respond(this.optionsResponse(received));
      return tx.respond(buildResponse(req, 481));
    }
    const seq = received.cseq.seq;
    // §12.2.2: a lower CSeq than the last one is out of order.
    if (seq < session.dialog.remoteSeq && req.method !== 'CANCEL')
      return tx.respond(buildResponse(req, 500, { reason: 'Out of Order' }));
    session.dialog.remoteSeq = Math.max(seq, session.dialog.remoteSeq);
    const contact = parseNameAddr(getHeader(req, 'contact') ?? '');
    switch (req.method) {
      case 'BYE':
        tx.respond(this.response(received, 200, undefined));
        session.end();
        session.user?.onBye();
        return;
      case 'INFO': {
        tx.respond(this.response(received, 200, undefined));
        session.user?.onInfo(getHeader(req, 'content-type') ?? '', req.body);
        return;
      }
      case 'INVITE': {
        if (session.state === 'awaiting-ack') return tx.respond(buildResponse(req, 491));
        if (contact) session.dialog.remoteTarget = contact.uri;
        const answer = session.user?.onReinvite(bodyText(req), req) ?? { status: 488 };
        if ('status' in answer)
          return tx.respond(
            buildResponse(req, answer.status, { reason: answer.reason, headers: answer.headers }),
          );
        session.localSdp = answer.sdp;
        const res = this.response(received, 200, undefined, answer.sdp, answer.headers);
        tx.respond(res);
        // No ACK for our 2xx to the re-INVITE: the UA hangs up (BYE), so the owner must learn the call is gone.
        session.retransmit2xx(res, (ack) => {
          if (!ack && session.live) session.user?.onBye();
        });
        return;
      }
      case 'UPDATE':
        return this.onUpdate(session, received);
      case 'OPTIONS':
        return tx.respond(this.optionsResponse(received));
      default:
        return tx.respond(this.methodNotAllowed(req));
    }
  }

  /** RFC 3311 §5.2: an UPDATE in a confirmed dialog; no ACK follows its 2xx. */
  private onUpdate(session: InviteSession, received: ReceivedRequest): void {
    const { request: req, tx } = received;
    const contact = parseNameAddr(getHeader(req, 'contact') ?? '');
    if (contact) session.dialog.remoteTarget = contact.uri;
    const offer = bodyText(req);
    const user = session.user;
    const answer = user?.onUpdate
      ? user.onUpdate(offer, req)
      : offer === undefined
        ? {}
        : { status: 488, reason: 'Not Acceptable Here' };
    if ('status' in answer && answer.status !== undefined)
      return tx.respond(
        buildResponse(req, answer.status, { reason: answer.reason, headers: answer.headers }),
      );
    const ok = answer as { sdp?: string; headers?: HeaderField[] };
    if (ok.sdp !== undefined) session.localSdp = ok.sdp;
    tx.respond(this.response(received, 200, undefined, ok.sdp, ok.headers));
  }

  private onAck(ack: SipRequest): void {
    const toTag = tagOf(getHeader(ack, 'to') ?? '');
    if (!toTag) return;
    this.findSession(ack, toTag)?.acked(ack);
  }

  /** A retransmitted 2xx to our INVITE: the ACK was lost, send it again (§13.2.2.4). */
  private onStrayResponse(res: SipResponse, cseq: CSeq): void {
    if (cseq.method !== 'INVITE' || res.status < 200 || res.status >= 300) return;
    const callId = getHeader(res, 'call-id') ?? '';
    const fromTag = tagOf(getHeader(res, 'from') ?? '') ?? '';
    const toTag = tagOf(getHeader(res, 'to') ?? '') ?? '';
    const session = this.sessions.get(dialogId(callId, fromTag, toTag));
    if (session?.lastAck) this.stack.send(session.lastAck, session.dialog.flow);
  }

  /** Ends every call (shutdown): BYE to each confirmed session. */
  async hangupAll(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.bye()));
  }
}

/** The transport the top Via names: where our Contact in a response must point. */
function transportOfVia(via: Via): Endpoint['transport'] {
  return via.transport === 'TCP' || via.transport === 'TLS'
    ? (via.transport.toLowerCase() as 'tcp' | 'tls')
    : 'udp';
}
