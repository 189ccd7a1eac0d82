import { Dialog, dialogId, newCallId, newTag } from '../dialog/dialog.ts';
import { buildCancel, buildRetry } from '../message/build.ts';
import {
  getHeader,
  getHeaderValues,
  headerKey,
  parseCSeq,
  parseNameAddr,
  tagOf,
} from '../message/headers.ts';
import type { HeaderField, SipRequest, SipResponse, SipUri } from '../message/types.ts';
import { formatUri } from '../message/uri.ts';
import { isChallenge, type DigestClient, type DigestRefusal } from '../registrar/digest-client.ts';
import { allowsUpdate, parseSessionExpires, retryInterval } from '../session-timer.ts';
import type { ClientTransaction } from '../transaction/client.ts';
import { hostForUri, type Endpoint } from '../transport/transport.ts';
import { StatefulFlow, type TransitionTable } from '../../util/state-machine.ts';
import { ALLOWED_METHODS, SDP } from './capabilities.ts';
import { InviteSession, bodyText, type SessionHost } from './invite-session.ts';

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

/** What an outgoing INVITE needs from the UA that sends it. */
export interface OutgoingInviteHost extends SessionHost {
  contactFor(transport: Endpoint['transport'], user?: string, peer?: string): string;
  /** The session of dialog `id`, if a 2xx already created it (a retransmitted 2xx). */
  sessionById(id: string): InviteSession | undefined;
  logAuthFailure(label: string, method: string, res: SipResponse, why: string): void;
}

/**
 * §13.2.1: a new INVITE: our Via, Contact and Allow; a fresh Call-ID and From
 * tag; CSeq 1. `local` is our address as the destination sees it.
 */
export function buildInvite(
  opts: OutgoingInviteOptions,
  local: { host: string; via: string; contact: string; userAgent: string },
): SipRequest {
  const display = opts.fromDisplayName ? `"${opts.fromDisplayName.replace(/["\\]/g, '')}" ` : '';
  const fromHost = opts.fromHost ?? hostForUri(local.host);
  const headers: HeaderField[] = [
    { name: 'Via', value: local.via },
    { name: 'Max-Forwards', value: '70' },
    { name: 'From', value: `${display}<sip:${opts.fromUser}@${fromHost}>;tag=${newTag()}` },
    { name: 'To', value: `<${formatUri(opts.toUri ?? opts.requestUri)}>` },
    { name: 'Call-ID', value: newCallId() },
    { name: 'CSeq', value: '1 INVITE' },
    { name: 'Contact', value: local.contact },
    { name: 'Allow', value: ALLOWED_METHODS.join(', ') },
    { name: 'User-Agent', value: local.userAgent },
    ...(opts.headers ?? []),
  ];
  if (opts.sdp !== undefined) headers.push({ name: 'Content-Type', value: SDP });
  return {
    kind: 'request',
    method: 'INVITE',
    uri: opts.requestUri,
    rawUri: formatUri(opts.requestUri),
    version: 'SIP/2.0',
    headers,
    body: Buffer.from(opts.sdp ?? ''),
  };
}

/**
 * The retry of `req` with credentials for the challenge in `res`: a new
 * transaction (new branch in `via`), CSeq + 1, everything else as before (§8.1.3.5).
 */
export function authenticatedRetry(
  req: SipRequest,
  res: SipResponse,
  client: DigestClient,
  via: string,
): SipRequest | DigestRefusal {
  const auth = client.answer(res, req.method, formatUri(req.uri));
  if (typeof auth === 'string') return auth;
  const authKey = headerKey(auth.name);
  return buildRetry(req, via, (key, h) => (key === authKey ? undefined : h), [auth]);
}

/**
 * RFC 4028 §7.1: after a 422, the same INVITE as a new transaction (new
 * branch, CSeq + 1) with Session-Expires and Min-SE raised to the 422's
 * Min-SE; undefined when the 422 names nothing larger than we asked.
 */
function sessionIntervalRetry(
  req: SipRequest,
  res: SipResponse,
  via: string,
): { request: SipRequest; interval: number } | undefined {
  const asked = parseSessionExpires(getHeader(req, 'session-expires') ?? '');
  if (!asked) return undefined;
  const interval = retryInterval(res, asked.seconds);
  if (interval === undefined) return undefined;
  const se = asked.refresher ? `${interval};refresher=${asked.refresher}` : String(interval);
  const request = buildRetry(req, via, (key, h) =>
    key === 'session-expires'
      ? { name: h.name, value: se }
      : key === 'min-se'
        ? { name: h.name, value: String(interval) }
        : h,
  );
  return { request, interval };
}

/**
 * calling → early (a provisional) → answered | failed; a cancel before any
 * provisional waits in cancel-pending (§9.1 forbids the CANCEL until one
 * arrives), then cancelling (CANCEL sent) → cancelled. A retry after a
 * 401/407/422 is a new transaction: back to calling (or cancel-pending).
 */
export type OutgoingInviteState =
  'calling' | 'early' | 'answered' | 'failed' | 'cancel-pending' | 'cancelling' | 'cancelled';

export const OUTGOING_INVITE_TRANSITIONS: TransitionTable<OutgoingInviteState> = {
  calling: ['calling', 'early', 'answered', 'failed', 'cancel-pending'],
  early: ['calling', 'answered', 'failed', 'cancelling'],
  'cancel-pending': ['cancelling', 'cancelled'],
  cancelling: ['cancelled'],
  answered: [],
  failed: [],
  cancelled: [],
};

/**
 * An INVITE we sent (UAC, §13.2). Besides its state it keeps two retry
 * allowances (one challenge, one 422) and whether the next hop ever answered:
 * facts about the call that a retry back to `calling` must not forget, so
 * they are not states.
 */
export class OutgoingInvite extends StatefulFlow<OutgoingInviteState> {
  onProvisional: ((status: number, sdp: string | undefined) => void) | null = null;
  readonly result: Promise<InviteOutcome>;
  private settle!: (o: InviteOutcome) => void;
  /** §22.2: we answer one challenge per call; a second is a failure. */
  private authTried = false;
  /** RFC 4028 §7.1: one retry after a 422 with a larger interval. */
  private intervalRetried = false;
  /** Any response at all (even 100) came: the next hop is alive. */
  responded = false;
  private tx: ClientTransaction | undefined;

  constructor(
    readonly host: OutgoingInviteHost,
    /** The INVITE in flight: replaced by its authenticated retry after a 401/407. */
    public request: SipRequest,
    readonly destination: Endpoint,
    readonly answerLateOffer?: (offer: string) => string | undefined,
    readonly auth?: OutboundAuth,
  ) {
    super({
      name: 'outgoing-invite',
      initial: 'calling',
      transitions: OUTGOING_INVITE_TRANSITIONS,
      clock: host.clock,
    });
    this.result = new Promise((resolve) => (this.settle = resolve));
  }

  get callId(): string {
    return getHeader(this.request, 'call-id') ?? '';
  }

  /** We asked to cancel (CANCEL sent or still waiting for a provisional), or did. */
  private get cancelRequested(): boolean {
    return this.machine.is('cancel-pending', 'cancelling', 'cancelled');
  }

  start(): void {
    this.tx = this.host.stack.sendRequest(this.request, this.destination, {
      onResponse: (res) => this.onResponse(res),
      // Timer B (nothing at all came back) or a transport error: the trunk or the network
      // failed, not the called party — `failed` (worth a failover, never an agent's no-answer).
      onTimeout: () =>
        this.finish(
          this.cancelRequested
            ? { kind: 'cancelled', status: 408, reason: 'Request Timeout' }
            : { kind: 'failed', status: 408, reason: 'No response' },
        ),
      // §8.1.3.1: a transport failure (a TLS target that does not verify) is a 503:
      // the trunk failed, not the callee; failover proceeds as for a 503.
      onTransportError: (err) =>
        this.finish({
          kind: this.cancelRequested ? 'cancelled' : 'failed',
          status: 503,
          reason: `Transport error: ${err.message}`,
        }),
    });
  }

  /** §9.1: CANCEL only after a provisional response; before that, remember to. */
  cancel(): void {
    if (this.machine.transition('cancel-pending', 'cancel before any provisional')) return;
    if (this.state === 'early') this.sendCancel();
  }

  private sendCancel(): void {
    if (!this.machine.transition('cancelling', 'CANCEL sent')) return;
    this.host.stack.sendRequest(buildCancel(this.request), this.destination, {
      onResponse: () => {},
      onTimeout: () => {},
    });
    this.tx?.cancelSent();
  }

  /** The same call again as a new transaction (a 401/407 or 422 retry). */
  private retry(request: SipRequest): void {
    // Nothing provisional on the new transaction yet (§9.1).
    if (!this.machine.transition('calling', 'retry')) return;
    this.request = request;
    this.start();
  }

  private onResponse(res: SipResponse): void {
    this.responded = true;
    const sdp =
      res.body.length && (getHeader(res, 'content-type') ?? '').toLowerCase().startsWith(SDP)
        ? res.body.toString('utf8')
        : undefined;
    if (res.status < 200) {
      if (res.status === 100) return;
      if (this.state === 'cancel-pending') {
        this.sendCancel();
        return;
      }
      // Only the first provisional moves calling → early; a further one, or one crossing
      // our CANCEL, is refused and changes nothing.
      this.machine.transition('early', String(res.status));
      this.onProvisional?.(res.status, sdp);
      return;
    }
    if (res.status < 300) {
      const ackBody =
        sdp !== undefined && this.request.body.length === 0 ? this.answerLateOffer?.(sdp) : undefined;
      const session = this.createSession(res, ackBody);
      if (this.cancelRequested) {
        // The 200 crossed our CANCEL: confirm and end the call at once (§9.1).
        void session.bye();
        this.finish({ kind: 'cancelled', status: 487, reason: 'Request Terminated' });
        return;
      }
      // A retransmitted 2xx (RFC 6026) finds the call answered already.
      if (!this.machine.transition('answered', String(res.status))) return;
      this.settle({ kind: 'answered', session, sdp, status: res.status, response: res });
      return;
    }
    if (this.cancelRequested)
      return this.finish({ kind: 'cancelled', status: res.status, reason: res.reason });
    if (res.status === 422 && !this.intervalRetried) {
      // RFC 4028 §7.1: Session Interval Too Small — try again once with the Min-SE it names.
      const retry = sessionIntervalRetry(
        this.request,
        res,
        this.host.viaFor(this.destination.transport, this.destination.address),
      );
      if (retry) {
        this.host.log.info(
          { callId: getHeader(this.request, 'call-id'), interval: retry.interval },
          '422 Session Interval Too Small: retrying',
        );
        this.intervalRetried = true;
        this.retry(retry.request);
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
      if (this.auth) this.host.logAuthFailure(this.auth.label, 'INVITE', res, why);
      this.finish({ kind: 'auth_failed', status: res.status, reason: res.reason });
    };
    if (!this.auth) return this.finish({ kind: 'auth_failed', status: res.status, reason: res.reason });
    if (this.authTried) return fail(res.status === 403 ? 'credentials refused' : 'challenged again');
    this.authTried = true;
    const { transport, address } = this.destination;
    const retry = authenticatedRetry(
      this.request,
      res,
      this.auth.client,
      this.host.viaFor(transport, address),
    );
    if (typeof retry === 'string') return fail(retry);
    this.retry(retry);
  }

  private finish(o: Exclude<InviteOutcome, { kind: 'answered' }>): void {
    // Settled once: a final state refuses the move.
    if (!this.machine.transition(o.kind === 'cancelled' ? 'cancelled' : 'failed', `${o.status} ${o.reason}`))
      return;
    this.settle(o);
  }

  /**
   * §12.1.2: the UAC side of the dialog the 2xx `res` creates, ACKed at once
   * (with the answer to a late offer). A retransmitted 2xx finds the session
   * it already made.
   */
  private createSession(res: SipResponse, ackBody?: string): InviteSession {
    const req = this.request;
    const contact = parseNameAddr(getHeader(res, 'contact') ?? '');
    const to = getHeader(res, 'to') ?? '';
    const toAddr = parseNameAddr(to);
    const fromAddr = parseNameAddr(getHeader(req, 'from') ?? '');
    const cseq = parseCSeq(getHeader(req, 'cseq') ?? '')?.seq ?? 1;
    const id = dialogId(this.callId, tagOf(getHeader(req, 'from') ?? '') ?? '', tagOf(to) ?? '');
    const existing = this.host.sessionById(id);
    if (existing) return existing;
    const dialog = new Dialog({
      callId: this.callId,
      localTag: tagOf(getHeader(req, 'from') ?? '') ?? '',
      remoteTag: tagOf(to) ?? '',
      localUri: fromAddr ? `<${formatUri(fromAddr.uri)}>` : '<sip:agentline@invalid>',
      remoteUri: toAddr ? `<${formatUri(toAddr.uri)}>` : `<${formatUri(req.uri)}>`,
      remoteTarget: contact?.uri ?? req.uri,
      // §12.1.2: the UAC's route set is the Record-Route of the 2xx, reversed.
      routeSet: getHeaderValues(res, 'record-route').reverse(),
      localSeq: cseq,
      remoteSeq: 0,
      flow: this.destination,
      contact:
        getHeader(req, 'contact') ??
        this.host.contactFor(this.destination.transport, undefined, this.destination.address),
    });
    const session = new InviteSession(this.host, dialog, 'uac', allowsUpdate(res), bodyText(req) ?? ackBody);
    session.sendAck(cseq, ackBody);
    return session;
  }
}
