import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { buildResponse } from './message/build.ts';
import {
  headerKey,
  getHeader,
  getHeaderValues,
  parseCSeq,
  parseNameAddr,
  parseVia,
  tagOf,
} from './message/headers.ts';
import type { HeaderField, SipRequest, SipResponse, SipUri } from './message/types.ts';
import { formatUri } from './message/uri.ts';
import { checkRequest } from './message/validate.ts';
import { Dialog, dialogId, newCallId, newTag } from './dialog/dialog.ts';
import type { IncomingRequest, SipStack } from './stack.ts';
import type { ServerTransaction } from './transaction/server.ts';
import type { ClientTransaction } from './transaction/client.ts';
import { hostForUri, type Endpoint } from './transport/transport.ts';
import { isChallenge, type DigestClient, type DigestRefusal } from './registrar/digest-client.ts';
import { TIMER_TAG, allowsUpdate, parseSessionExpires, retryInterval } from './session-timer.ts';

/** Methods we implement. Anything else gets 405 with this list (§8.2.1). */
export const ALLOWED_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'INFO', 'REGISTER', 'UPDATE'];
/** Option tags we support (Require we accept, Supported we send): session timers (RFC 4028). */
export const EXTENSIONS = [TIMER_TAG];
/** Methods defined by RFC 3261 and its extensions: anything else is not recognised. */
const KNOWN_METHODS = new Set([
  ...ALLOWED_METHODS,
  'PRACK',
  'SUBSCRIBE',
  'NOTIFY',
  'PUBLISH',
  'REFER',
  'MESSAGE',
]);
const CONTENT_TYPES = ['application/sdp', 'application/dtmf-relay', 'application/dtmf'];
const SDP = 'application/sdp';

/** A failure status for an in-dialog request, with extra headers (e.g. Min-SE of a 422). */
export interface DialogRefusal {
  status: number;
  reason?: string;
  headers?: HeaderField[];
}

/** What an established dialog tells the layer that owns it. */
export interface DialogUser {
  onBye(): void;
  /**
   * A re-INVITE (e.g. the phone holds us, or refreshes the session). Return
   * the SDP answer (and headers for the 2xx, e.g. Session-Expires), or a failure.
   */
  onReinvite(
    offer: string | undefined,
    req: SipRequest,
  ): { sdp: string; headers?: HeaderField[] } | DialogRefusal;
  /**
   * An UPDATE (RFC 3311), usually a session refresh without SDP. Without this
   * handler an UPDATE without offer is answered 200 and one with an offer 488.
   */
  onUpdate?(
    offer: string | undefined,
    req: SipRequest,
  ): { sdp?: string; headers?: HeaderField[] } | DialogRefusal;
  onInfo(contentType: string, body: Buffer): void;
}

export interface UaDelegate {
  onInvite(invite: IncomingInvite): void;
  onRegister?(req: SipRequest, source: Endpoint): SipResponse;
}

export type SessionState = 'confirmed' | 'terminating' | 'terminated';

/** An established INVITE dialog usage, UAS or UAC side. */
export class InviteSession {
  state: SessionState = 'confirmed';
  user: DialogUser | null = null;
  /** Our last 2xx to an INVITE, retransmitted until its ACK (§13.3.1.4). */
  pending2xx:
    { res: SipResponse; timer: TimerHandle | undefined; interval: number; started: number } | undefined;
  /** Our ACK to the peer's 2xx, resent if the 2xx is retransmitted. */
  lastAck: SipRequest | undefined;
  inviteSeq = 0;
  /** The last SDP we sent in this dialog: a session refresh re-INVITE sends it again unchanged. */
  localSdp: string | undefined;
  /** The peer listed UPDATE in Allow: refreshes go by UPDATE (RFC 4028 §7.4). */
  peerAllowsUpdate = false;

  constructor(
    readonly ua: UserAgent,
    readonly dialog: Dialog,
    readonly role: 'uas' | 'uac',
  ) {}

  /** Ends the call (§15.1.1). Resolves once the BYE is answered or timed out. */
  bye(): Promise<void> {
    if (this.state !== 'confirmed') return Promise.resolve();
    this.state = 'terminating';
    return new Promise((resolve) => {
      const req = this.ua.inDialogRequest(this, 'BYE');
      this.ua.stack.sendRequest(req, this.dialog.flow, {
        onResponse: (res) => {
          if (res.status >= 200) resolve();
        },
        onTimeout: () => resolve(),
      });
      this.ua.endSession(this);
    });
  }

  /**
   * Sends a re-INVITE with an offer (hold, or a session refresh with the last
   * SDP unchanged); resolves with the final response, undefined on timeout.
   */
  reinvite(sdp: string, headers: HeaderField[] = []): Promise<SipResponse | undefined> {
    if (this.state !== 'confirmed') return Promise.resolve(undefined);
    const req = this.ua.inDialogRequest(
      this,
      'INVITE',
      [...headers, { name: 'Content-Type', value: SDP }],
      Buffer.from(sdp),
    );
    this.localSdp = sdp;
    const seq = this.dialog.localSeq;
    return new Promise((resolve) => {
      this.ua.stack.sendRequest(req, this.dialog.flow, {
        onResponse: (res) => {
          if (res.status < 200) return;
          if (res.status < 300) this.ua.ackReinvite(this, seq);
          resolve(res);
        },
        onTimeout: () => resolve(undefined),
      });
    });
  }

  /** Sends an UPDATE without SDP (RFC 3311; a session refresh); resolves with the final response. */
  update(headers: HeaderField[] = []): Promise<SipResponse | undefined> {
    if (this.state !== 'confirmed') return Promise.resolve(undefined);
    const req = this.ua.inDialogRequest(this, 'UPDATE', headers);
    return new Promise((resolve) => {
      this.ua.stack.sendRequest(req, this.dialog.flow, {
        onResponse: (res) => {
          if (res.status >= 200) resolve(res);
        },
        onTimeout: () => resolve(undefined),
      });
    });
  }

  info(contentType: string, body: string): void {
    if (this.state !== 'confirmed') return;
    const req = this.ua.inDialogRequest(
      this,
      'INFO',
      [{ name: 'Content-Type', value: contentType }],
      Buffer.from(body),
    );
    this.ua.stack.sendRequest(req, this.dialog.flow, { onResponse: () => {}, onTimeout: () => {} });
  }
}

export type IncomingInviteState = 'pending' | 'early' | 'accepted' | 'confirmed' | 'rejected' | 'cancelled';

/** An INVITE we received and have not finished answering (UAS, §13.3). */
export class IncomingInvite {
  state: IncomingInviteState = 'pending';
  readonly localTag = newTag();
  onCancel: (() => void) | null = null;
  session: InviteSession | undefined;
  private ackWaiter: ((ok: { ack: SipRequest } | undefined) => void) | undefined;

  constructor(
    readonly ua: UserAgent,
    readonly request: SipRequest,
    readonly source: Endpoint,
    readonly tx: ServerTransaction,
  ) {}

  get offer(): string | undefined {
    return this.request.body.length ? this.request.body.toString('utf8') : undefined;
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
    if (this.state !== 'pending' && this.state !== 'early') return;
    this.state = 'early';
    this.tx.respond(this.ua.response(this.request, status, this.localTag, sdp));
  }

  reject(status: number, reason?: string, headers: HeaderField[] = []): void {
    if (this.state !== 'pending' && this.state !== 'early') return;
    this.state = 'rejected';
    this.ua.forgetInvite(this);
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
    if (this.state !== 'pending' && this.state !== 'early') return Promise.resolve(undefined);
    this.state = 'accepted';
    this.ua.forgetInvite(this);
    const res = this.ua.response(this.request, 200, this.localTag, sdp, headers);
    const session = this.ua.createUasSession(this, res);
    this.session = session;
    this.tx.respond(res);
    return new Promise((resolve) => {
      this.ackWaiter = (r) => resolve(r ? { session, ack: r.ack } : undefined);
      this.ua.startRetransmit2xx(session, res, (ack) => {
        this.state = 'confirmed';
        this.ackWaiter?.(ack ? { ack } : undefined);
        this.ackWaiter = undefined;
      });
    });
  }

  /** A CANCEL arrived (§9.2): answer 487 unless we already answered. */
  cancelled(): void {
    if (this.state !== 'pending' && this.state !== 'early') return;
    this.state = 'cancelled';
    this.ua.forgetInvite(this);
    this.tx.respond(buildResponse(this.request, 487, { toTag: this.localTag }));
    this.onCancel?.();
  }
}

export type InviteOutcome =
  | {
      kind: 'answered';
      session: InviteSession;
      sdp: string | undefined;
      status: number;
      /** The 2xx (its Session-Expires settles the session timer, RFC 4028 §7.2). */
      response: SipResponse;
    }
  | {
      /**
       * busy/rejected/no_answer are the callee's own doing; failed (5xx, no
       * response, other 4xx) and auth_failed (a second challenge, or 403 to our
       * credentials) are the network's or ours.
       */
      kind: 'busy' | 'rejected' | 'no_answer' | 'failed' | 'auth_failed' | 'cancelled';
      status: number;
      reason: string;
    };

/** Who to authenticate as if the next hop challenges, and the name to log it under. */
export interface OutboundAuth {
  client: DigestClient;
  /** The trunk's name, for log lines. */
  label: string;
}

export interface OutgoingInviteOptions {
  requestUri: SipUri;
  /** Where to send it: the trunk or a registered contact's source address. */
  destination: Endpoint;
  fromUser: string;
  fromDisplayName?: string;
  toUri?: SipUri;
  sdp?: string;
  headers?: HeaderField[];
  /** For an INVITE without SDP: answers the offer of the 2xx; the answer goes in the ACK. */
  answerLateOffer?: (offer: string) => string | undefined;
  /** Credentials for a 401/407 (a trunk that authenticates). */
  auth?: OutboundAuth;
  /** From host instead of our address (a trunk that wants its domain there). */
  fromHost?: string;
}

export type OutgoingInviteState = 'calling' | 'early' | 'answered' | 'failed' | 'cancelling' | 'cancelled';

/** An INVITE we sent (UAC, §13.2). */
export class OutgoingInvite {
  state: OutgoingInviteState = 'calling';
  onProvisional: ((status: number, sdp: string | undefined) => void) | null = null;
  readonly result: Promise<InviteOutcome>;
  private settle!: (o: InviteOutcome) => void;
  private gotProvisional = false;
  private cancelWanted = false;
  /** §22.2: we answer one challenge per call; a second is a failure. */
  private authTried = false;
  /** RFC 4028 §7.1: one retry after a 422 with a larger interval. */
  private intervalRetried = false;
  /** Any response at all (even 100) came: the next hop is alive. */
  responded = false;

  constructor(
    readonly ua: UserAgent,
    /** The INVITE in flight: replaced by its authenticated retry after a 401/407. */
    public request: SipRequest,
    readonly destination: Endpoint,
    readonly answerLateOffer?: (offer: string) => string | undefined,
    readonly auth?: OutboundAuth,
  ) {
    this.result = new Promise((resolve) => (this.settle = resolve));
  }

  get callId(): string {
    return getHeader(this.request, 'call-id') ?? '';
  }

  private tx: ClientTransaction | undefined;

  start(): void {
    this.tx = this.ua.stack.sendRequest(this.request, this.destination, {
      onResponse: (res) => this.onResponse(res),
      // Timer B (nothing at all came back) or a transport error: the trunk or the network
      // failed, not the called party — `failed` (worth a failover, never an agent's no-answer).
      onTimeout: () =>
        this.finish(
          this.cancelWanted
            ? { kind: 'cancelled', status: 408, reason: 'Request Timeout' }
            : { kind: 'failed', status: 408, reason: 'No response' },
        ),
      // §8.1.3.1: a transport failure (a TLS target that does not verify) is a 503:
      // the trunk failed, not the callee; failover proceeds as for a 503.
      onTransportError: (err) =>
        this.finish({
          kind: this.cancelWanted ? 'cancelled' : 'failed',
          status: 503,
          reason: `Transport error: ${err.message}`,
        }),
    });
  }

  /** §9.1: CANCEL only after a provisional response; before that, remember to. */
  cancel(): void {
    if (this.state !== 'calling' && this.state !== 'early') return;
    this.cancelWanted = true;
    this.state = 'cancelling';
    if (this.gotProvisional) this.sendCancel();
  }

  private sendCancel(): void {
    const pick = (name: string): HeaderField[] =>
      this.request.headers.filter((h) => headerKey(h.name) === name);
    const cseq = parseCSeq(getHeader(this.request, 'cseq') ?? '');
    const cancel: SipRequest = {
      ...this.request,
      method: 'CANCEL',
      headers: [
        ...pick('via').slice(0, 1),
        ...pick('route'),
        { name: 'Max-Forwards', value: '70' },
        ...pick('from'),
        ...pick('to'),
        ...pick('call-id'),
        { name: 'CSeq', value: `${cseq?.seq ?? 1} CANCEL` },
      ],
      body: Buffer.alloc(0),
    };
    this.ua.stack.sendRequest(cancel, this.destination, { onResponse: () => {}, onTimeout: () => {} });
    this.tx?.cancelSent();
  }

  private onResponse(res: SipResponse): void {
    this.responded = true;
    const sdp =
      res.body.length && (getHeader(res, 'content-type') ?? '').toLowerCase().startsWith(SDP)
        ? res.body.toString('utf8')
        : undefined;
    if (res.status < 200) {
      if (res.status === 100) return;
      const first = !this.gotProvisional;
      this.gotProvisional = true;
      if (this.cancelWanted && first) {
        this.sendCancel();
        return;
      }
      if (this.state === 'calling') this.state = 'early';
      this.onProvisional?.(res.status, sdp);
      return;
    }
    if (res.status < 300) {
      const ackBody =
        sdp !== undefined && this.request.body.length === 0 ? this.answerLateOffer?.(sdp) : undefined;
      const session = this.ua.createUacSession(this, res, ackBody);
      if (this.cancelWanted) {
        // The 200 crossed our CANCEL: confirm and end the call at once (§9.1).
        void session.bye();
        this.finish({ kind: 'cancelled', status: 487, reason: 'Request Terminated' });
        return;
      }
      this.state = 'answered';
      this.settle({ kind: 'answered', session, sdp, status: res.status, response: res });
      return;
    }
    if (this.cancelWanted) return this.finish({ kind: 'cancelled', status: res.status, reason: res.reason });
    if (res.status === 422 && !this.intervalRetried) {
      // RFC 4028 §7.1: Session Interval Too Small — try again once with the Min-SE it names.
      const retry = this.ua.sessionIntervalRetry(this.request, res, this.destination);
      if (retry) {
        this.intervalRetried = true;
        this.request = retry;
        this.gotProvisional = false;
        this.start();
        return;
      }
    }
    if (isChallenge(res.status) || (res.status === 403 && this.authTried)) return this.onChallenge(res);
    const kind =
      res.status === 486 || res.status === 600
        ? 'busy'
        : res.status === 480 || res.status === 408
          ? 'no_answer'
          : res.status === 603
            ? 'rejected'
            : 'failed';
    this.finish({ kind, status: res.status, reason: res.reason });
  }

  /**
   * §8.1.3.5, §22.2: the transaction layer has ACKed the 401/407 (§17.1.1.3);
   * the retry is a new transaction in the same call — same Call-ID, From tag
   * and To, CSeq + 1 — carrying our credentials. A second challenge, or a 403
   * to the credentials, ends the attempt.
   */
  private onChallenge(res: SipResponse): void {
    const fail = (why: string): void => {
      if (this.auth) this.ua.logAuthFailure(this.auth.label, 'INVITE', res, why);
      this.finish({ kind: 'auth_failed', status: res.status, reason: res.reason });
    };
    if (!this.auth) return this.finish({ kind: 'auth_failed', status: res.status, reason: res.reason });
    if (this.authTried) return fail(res.status === 403 ? 'credentials refused' : 'challenged again');
    this.authTried = true;
    const retry = this.ua.authenticatedRetry(this.request, res, this.auth.client, this.destination);
    if (typeof retry === 'string') return fail(retry);
    this.request = retry;
    this.gotProvisional = false;
    this.start();
  }

  private finish(o: InviteOutcome): void {
    if (this.state === 'answered' || this.state === 'failed' || this.state === 'cancelled') return;
    this.state = o.kind === 'cancelled' ? 'cancelled' : 'failed';
    this.settle(o);
  }
}

export interface UserAgentOptions {
  stack: SipStack;
  clock: Clock;
  logger: Logger;
  delegate: UaDelegate;
  userAgent?: string;
}

/**
 * The UA core (RFC 3261 §8, §12–§15): routes requests to dialogs or to the
 * delegate, answers what needs no application (OPTIONS, CANCEL, stray BYE),
 * and builds and tracks our own INVITEs.
 */
export class UserAgent {
  readonly stack: SipStack;
  private readonly clock: Clock;
  private readonly log: Logger;
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
    this.stack.onStrayResponse = (res) => this.onStrayResponse(res);
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

  response(
    req: SipRequest,
    status: number,
    toTag: string | undefined,
    sdp?: string,
    extra: HeaderField[] = [],
  ): SipResponse {
    const headers: HeaderField[] = [...extra];
    if (status < 300 && status > 100 && (req.method === 'INVITE' || req.method === 'UPDATE')) {
      headers.push({
        name: 'Contact',
        value: this.contactFor(transportOfVia(req), undefined, sourceOfVia(req)),
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
    const flow = session.dialog.flow;
    return session.dialog.createRequest(method, this.viaFor(flow.transport, flow.address), extra, body);
  }

  /** Places a call (§13.2.1). */
  invite(opts: OutgoingInviteOptions): OutgoingInvite {
    const transport = opts.destination.transport;
    const peer = opts.destination.address;
    const { host } = this.stack.localAddress(transport, peer);
    const display = opts.fromDisplayName ? `"${opts.fromDisplayName.replace(/["\\]/g, '')}" ` : '';
    const fromHost = opts.fromHost ?? hostForUri(host);
    const headers: HeaderField[] = [
      { name: 'Via', value: this.viaFor(transport, peer) },
      { name: 'Max-Forwards', value: '70' },
      { name: 'From', value: `${display}<sip:${opts.fromUser}@${fromHost}>;tag=${newTag()}` },
      { name: 'To', value: `<${formatUri(opts.toUri ?? opts.requestUri)}>` },
      { name: 'Call-ID', value: newCallId() },
      { name: 'CSeq', value: '1 INVITE' },
      { name: 'Contact', value: this.contactFor(transport, undefined, peer) },
      { name: 'Allow', value: ALLOWED_METHODS.join(', ') },
      { name: 'User-Agent', value: this.serverName },
      ...(opts.headers ?? []),
    ];
    if (opts.sdp !== undefined) headers.push({ name: 'Content-Type', value: SDP });
    const req: SipRequest = {
      kind: 'request',
      method: 'INVITE',
      uri: opts.requestUri,
      rawUri: formatUri(opts.requestUri),
      version: 'SIP/2.0',
      headers,
      body: Buffer.from(opts.sdp ?? ''),
    };
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
  request(req: SipRequest, destination: Endpoint, auth?: OutboundAuth): Promise<SipResponse | undefined> {
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
      const retry = this.authenticatedRetry(req, res, auth.client, destination);
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

  /**
   * The retry of `req` with credentials for the challenge in `res`: a new
   * transaction (new branch), CSeq + 1, everything else as before (§8.1.3.5).
   */
  authenticatedRetry(
    req: SipRequest,
    res: SipResponse,
    client: DigestClient,
    destination: Endpoint,
  ): SipRequest | DigestRefusal {
    const auth = client.answer(res, req.method, formatUri(req.uri));
    if (typeof auth === 'string') return auth;
    const seq = parseCSeq(getHeader(req, 'cseq') ?? '')?.seq ?? 1;
    const authKey = headerKey(auth.name);
    const headers: HeaderField[] = [];
    let viaDone = false;
    for (const h of req.headers) {
      const key = headerKey(h.name);
      if (key === 'via') {
        if (!viaDone)
          headers.push({ name: 'Via', value: this.viaFor(destination.transport, destination.address) });
        viaDone = true;
      } else if (key === 'cseq') headers.push({ name: 'CSeq', value: `${seq + 1} ${req.method}` });
      else if (key !== authKey) headers.push(h);
    }
    headers.push(auth);
    return { ...req, headers };
  }

  /**
   * RFC 4028 §7.1: after a 422, the same INVITE as a new transaction (new
   * branch, CSeq + 1) with Session-Expires and Min-SE raised to the 422's
   * Min-SE; undefined when the 422 names nothing larger than we asked.
   */
  sessionIntervalRetry(req: SipRequest, res: SipResponse, destination: Endpoint): SipRequest | undefined {
    const asked = parseSessionExpires(getHeader(req, 'session-expires') ?? '');
    if (!asked) return undefined;
    const interval = retryInterval(res, asked.seconds);
    if (interval === undefined) return undefined;
    const seq = parseCSeq(getHeader(req, 'cseq') ?? '')?.seq ?? 1;
    const se = asked.refresher ? `${interval};refresher=${asked.refresher}` : String(interval);
    const headers: HeaderField[] = [];
    let viaDone = false;
    for (const h of req.headers) {
      const key = headerKey(h.name);
      if (key === 'via') {
        if (!viaDone) headers.push({ name: 'Via', value: this.viaFor(destination.transport) });
        viaDone = true;
      } else if (key === 'cseq') headers.push({ name: 'CSeq', value: `${seq + 1} ${req.method}` });
      else if (key === 'session-expires') headers.push({ name: h.name, value: se });
      else if (key === 'min-se') headers.push({ name: h.name, value: String(interval) });
      else headers.push(h);
    }
    this.log.info(
      { callId: getHeader(req, 'call-id'), interval },
      '422 Session Interval Too Small: retrying',
    );
    return { ...req, headers };
  }

  /** One warn line per failed authentication, naming the trunk (never the secret). */
  logAuthFailure(label: string, method: string, res: SipResponse, why: string): void {
    this.log.warn(
      { trunk: label, method, status: res.status, reason: res.reason, why },
      'trunk authentication failed',
    );
  }

  createUasSession(invite: IncomingInvite, res: SipResponse): InviteSession {
    const req = invite.request;
    const from = parseNameAddr(getHeader(req, 'from') ?? '');
    const to = parseNameAddr(getHeader(req, 'to') ?? '');
    const contact = parseNameAddr(getHeader(req, 'contact') ?? '');
    const dialog = new Dialog({
      callId: invite.callId,
      localTag: invite.localTag,
      remoteTag: tagOf(getHeader(req, 'from') ?? '') ?? '',
      localUri: to ? `<${formatUri(to.uri)}>` : '<sip:agentline@invalid>',
      remoteUri: from ? `<${formatUri(from.uri)}>` : '<sip:anonymous@invalid>',
      remoteTarget: contact?.uri ?? from?.uri ?? req.uri,
      routeSet: getHeaderValues(req, 'record-route'),
      localSeq: Math.floor(Math.random() * 10000),
      remoteSeq: parseCSeq(getHeader(req, 'cseq') ?? '')?.seq ?? 0,
      flow: invite.tx.responseTarget,
      contact:
        getHeader(res, 'contact') ??
        this.contactFor(invite.source.transport, undefined, invite.source.address),
    });
    const session = new InviteSession(this, dialog, 'uas');
    session.localSdp = res.body.length ? res.body.toString('utf8') : undefined;
    session.peerAllowsUpdate = allowsUpdate(req);
    this.sessions.set(dialog.id, session);
    return session;
  }

  createUacSession(out: OutgoingInvite, res: SipResponse, ackBody?: string): InviteSession {
    const req = out.request;
    const contact = parseNameAddr(getHeader(res, 'contact') ?? '');
    const to = getHeader(res, 'to') ?? '';
    const toAddr = parseNameAddr(to);
    const fromAddr = parseNameAddr(getHeader(req, 'from') ?? '');
    const cseq = parseCSeq(getHeader(req, 'cseq') ?? '')?.seq ?? 1;
    const id = dialogId(out.callId, tagOf(getHeader(req, 'from') ?? '') ?? '', tagOf(to) ?? '');
    const existing = this.sessions.get(id);
    if (existing) return existing;
    const dialog = new Dialog({
      callId: out.callId,
      localTag: tagOf(getHeader(req, 'from') ?? '') ?? '',
      remoteTag: tagOf(to) ?? '',
      localUri: fromAddr ? `<${formatUri(fromAddr.uri)}>` : '<sip:agentline@invalid>',
      remoteUri: toAddr ? `<${formatUri(toAddr.uri)}>` : `<${formatUri(req.uri)}>`,
      remoteTarget: contact?.uri ?? req.uri,
      // §12.1.2: the UAC's route set is the Record-Route of the 2xx, reversed.
      routeSet: getHeaderValues(res, 'record-route').reverse(),
      localSeq: cseq,
      remoteSeq: 0,
      flow: out.destination,
      contact:
        getHeader(req, 'contact') ??
        this.contactFor(out.destination.transport, undefined, out.destination.address),
    });
    const session = new InviteSession(this, dialog, 'uac');
    session.inviteSeq = cseq;
    session.localSdp = req.body.length ? req.body.toString('utf8') : ackBody;
    session.peerAllowsUpdate = allowsUpdate(res);
    this.sessions.set(dialog.id, session);
    this.sendAck(session, cseq, ackBody);
    return session;
  }

  /** ACK for the 2xx to our re-INVITE (§14.1: like the initial one, end to end). */
  ackReinvite(session: InviteSession, seq: number): void {
    this.sendAck(session, seq);
  }

  private sendAck(session: InviteSession, seq: number, body?: string): void {
    const extra: HeaderField[] = body === undefined ? [] : [{ name: 'Content-Type', value: SDP }];
    const ack = session.dialog.createRequest(
      'ACK',
      this.viaFor(session.dialog.flow.transport, session.dialog.flow.address),
      extra,
      body === undefined ? undefined : Buffer.from(body),
    );
    setHeaderValue(ack.headers, 'CSeq', `${seq} ACK`);
    session.lastAck = ack;
    this.stack.send(ack, session.dialog.flow);
  }

  endSession(session: InviteSession): void {
    session.state = 'terminated';
    if (session.pending2xx) this.clock.clearTimeout(session.pending2xx.timer);
    session.pending2xx = undefined;
    this.sessions.delete(session.dialog.id);
    // A BYE that overtook the ACK: whoever waits for the ACK learns the call is gone.
    const waiting = this.ackListeners.get(session);
    this.ackListeners.delete(session);
    waiting?.(undefined);
  }

  /** An incoming INVITE got its final answer: CANCEL can no longer find it. */
  forgetInvite(invite: IncomingInvite): void {
    this.invitesByTx.delete(invite.tx);
  }

  /**
   * §13.3.1.4: resend our 2xx at T1, 2T1 … T2 until the ACK, give up after 64·T1.
   * The give-up is its own deadline (like Timer H), not the next retransmission
   * due after it: with T2 steps that would hold the leg and its ports 3.5 s longer.
   */
  startRetransmit2xx(
    session: InviteSession,
    res: SipResponse,
    done: (ack: SipRequest | undefined) => void,
  ): void {
    const { t1, t2 } = this.stack.timers;
    const reliable = session.dialog.flow.transport !== 'udp';
    const started = this.clock.now();
    const state: NonNullable<InviteSession['pending2xx']> = { res, timer: undefined, interval: t1, started };
    session.pending2xx = state;
    const tick = (): void => {
      if (session.pending2xx !== state) return;
      if (this.clock.now() - started >= 64 * t1) {
        session.pending2xx = undefined;
        this.ackListeners.delete(session);
        this.log.info({ callId: session.dialog.callId }, 'no ACK for 2xx: ending the call');
        done(undefined);
        void session.bye();
        return;
      }
      if (!reliable) this.stack.send(res, session.dialog.flow);
      state.interval = reliable ? 64 * t1 : Math.min(2 * state.interval, t2);
      const left = started + 64 * t1 - this.clock.now();
      state.timer = this.clock.setTimeout(tick, Math.min(state.interval, left));
    };
    state.timer = this.clock.setTimeout(tick, reliable ? 64 * t1 : t1);
    this.ackListeners.set(session, done);
  }

  private readonly ackListeners = new Map<InviteSession, (ack: SipRequest | undefined) => void>();

  private onRequest({ request: req, source, tx }: IncomingRequest): void {
    if (req.method === 'ACK') return this.onAck(req);
    if (!tx) return;
    const problem = checkRequest(req, {
      methods: ALLOWED_METHODS,
      extensions: EXTENSIONS,
      contentTypes: CONTENT_TYPES,
    });
    if (problem) {
      tx.respond(buildResponse(req, problem.status, { reason: problem.reason, headers: problem.headers }));
      return;
    }
    const toTag = tagOf(getHeader(req, 'to') ?? '');
    if (toTag) return this.onInDialog(req, tx, toTag);
    switch (req.method) {
      case 'INVITE':
        return this.onInvite(req, source, tx);
      case 'CANCEL':
        return this.onCancel(req, source, tx);
      case 'OPTIONS':
        return tx.respond(this.optionsResponse(req));
      case 'REGISTER':
        if (this.opts.delegate.onRegister) return tx.respond(this.opts.delegate.onRegister(req, source));
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

  private optionsResponse(req: SipRequest): SipResponse {
    return this.response(req, 200, newTag(), undefined, [
      { name: 'Accept', value: CONTENT_TYPES.join(', ') },
      { name: 'Supported', value: EXTENSIONS.join(', ') },
    ]);
  }

  private onInvite(req: SipRequest, source: Endpoint, tx: ServerTransaction): void {
    if (this.refuseNewCalls) {
      tx.respond(buildResponse(req, 503, { headers: [{ name: 'Retry-After', value: '30' }] }));
      return;
    }
    tx.respond(buildResponse(req, 100));
    const invite = new IncomingInvite(this, req, source, tx);
    this.invitesByTx.set(tx, invite);
    try {
      this.opts.delegate.onInvite(invite);
    } catch (err) {
      this.log.error({ err }, 'INVITE handler failed');
      invite.reject(500, 'Server Internal Error');
    }
  }

  private onCancel(req: SipRequest, source: Endpoint, tx: ServerTransaction): void {
    const inviteTx = this.stack.findInviteFor(req, source);
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

  private onInDialog(req: SipRequest, tx: ServerTransaction, toTag: string): void {
    const session = this.findSession(req, toTag);
    if (!session || session.state === 'terminated') {
      if (req.method === 'OPTIONS') return tx.respond(this.optionsResponse(req));
      return tx.respond(buildResponse(req, 481));
    }
    const seq = parseCSeq(getHeader(req, 'cseq') ?? '')?.seq ?? 0;
    // §12.2.2: a lower CSeq than the last one is out of order.
    if (seq < session.dialog.remoteSeq && req.method !== 'CANCEL')
      return tx.respond(buildResponse(req, 500, { reason: 'Out of Order' }));
    session.dialog.remoteSeq = Math.max(seq, session.dialog.remoteSeq);
    const contact = parseNameAddr(getHeader(req, 'contact') ?? '');
    switch (req.method) {
      case 'BYE':
        tx.respond(this.response(req, 200, undefined));
        this.endSession(session);
        session.user?.onBye();
        return;
      case 'INFO': {
        tx.respond(this.response(req, 200, undefined));
        session.user?.onInfo(getHeader(req, 'content-type') ?? '', req.body);
        return;
      }
      case 'INVITE': {
        if (session.pending2xx) return tx.respond(buildResponse(req, 491));
        if (contact) session.dialog.remoteTarget = contact.uri;
        const offer = req.body.length ? req.body.toString('utf8') : undefined;
        const answer = session.user?.onReinvite(offer, req) ?? { status: 488 };
        if ('status' in answer)
          return tx.respond(
            buildResponse(req, answer.status, { reason: answer.reason, headers: answer.headers }),
          );
        session.localSdp = answer.sdp;
        const res = this.response(req, 200, undefined, answer.sdp, answer.headers);
        tx.respond(res);
        // No ACK for our 2xx to the re-INVITE: the UA hangs up (BYE), so the owner must learn the call is gone.
        this.startRetransmit2xx(session, res, (ack) => {
          if (!ack && session.state === 'confirmed') session.user?.onBye();
        });
        return;
      }
      case 'UPDATE':
        return this.onUpdate(session, req, tx);
      case 'OPTIONS':
        return tx.respond(this.optionsResponse(req));
      default:
        return tx.respond(this.methodNotAllowed(req));
    }
  }

  /** RFC 3311 §5.2: an UPDATE in a confirmed dialog; no ACK follows its 2xx. */
  private onUpdate(session: InviteSession, req: SipRequest, tx: ServerTransaction): void {
    const contact = parseNameAddr(getHeader(req, 'contact') ?? '');
    if (contact) session.dialog.remoteTarget = contact.uri;
    const offer = req.body.length ? req.body.toString('utf8') : undefined;
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
    tx.respond(this.response(req, 200, undefined, ok.sdp, ok.headers));
  }

  private onAck(ack: SipRequest): void {
    const toTag = tagOf(getHeader(ack, 'to') ?? '');
    if (!toTag) return;
    const session = this.findSession(ack, toTag);
    if (!session?.pending2xx) return;
    this.clock.clearTimeout(session.pending2xx.timer);
    session.pending2xx = undefined;
    const done = this.ackListeners.get(session);
    this.ackListeners.delete(session);
    done?.(ack);
  }

  private onStrayResponse(res: SipResponse): void {
    // A retransmitted 2xx to our INVITE: the ACK was lost, send it again (§13.2.2.4).
    const cseq = parseCSeq(getHeader(res, 'cseq') ?? '');
    if (!cseq || cseq.method !== 'INVITE' || res.status < 200 || res.status >= 300) return;
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

/** Where a request came from: its top Via's `received` (stamped on arrival), else its sent-by. */
function sourceOfVia(req: SipRequest): string | undefined {
  const v = getHeader(req, 'via');
  const via = v === undefined ? undefined : parseVia(v);
  return via?.params.get('received') ?? via?.host;
}

function transportOfVia(req: SipRequest): Endpoint['transport'] {
  const v = getHeader(req, 'via') ?? '';
  const m = /^SIP\/2\.0\/(TCP|TLS)/i.exec(v.trim());
  return m ? (m[1]!.toLowerCase() as 'tcp' | 'tls') : 'udp';
}

function setHeaderValue(headers: HeaderField[], name: string, value: string): void {
  const h = headers.find((x) => x.name.toLowerCase() === name.toLowerCase());
  if (h) h.value = value;
}
