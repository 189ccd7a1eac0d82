import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { buildBadRequest, buildNon2xxAck, buildResponse, randomTag } from './message/build.ts';
import { headerKey, formatVia, getHeader, getHeaderValues, parseCSeq, parseVia } from './message/headers.ts';
import { tagOf } from './message/headers.ts';
import { parseMessage } from './message/parse.ts';
import { serializeMessage } from './message/serialize.ts';
import type { CSeq, HeaderField, SipMessage, SipRequest, SipResponse, Via } from './message/types.ts';
import { ClientTransaction, type ClientTxUser } from './transaction/client.ts';
import { ServerTransaction } from './transaction/server.ts';
import { DEFAULT_TIMERS, type TimerConfig } from './transaction/timers.ts';
import { endpointKey, type Endpoint, type Transport, type TransportName } from './transport/transport.ts';
import { KNOWN_METHODS } from './ua/capabilities.ts';

const MAGIC = 'z9hG4bK';
export const MAX_MESSAGE_BYTES = 65536;

export interface IncomingRequest {
  request: SipRequest;
  source: Endpoint;
  /** Absent for an ACK to a 2xx, which is its own transaction-less request (§17). */
  tx: ServerTransaction | undefined;
  /** The top Via, parsed once on arrival and stamped with received/rport (§18.2.1). */
  via: Via;
  /** The CSeq, parsed once on arrival; undefined when malformed (the UA answers 400). */
  cseq: CSeq | undefined;
}

export interface StackCounters {
  received: number;
  sent: number;
  dropped: number;
  badRequests: number;
  retransmissionsAbsorbed: number;
  /** Requests by direction and method, as on the wire (retransmissions included). */
  requests: Record<SipDirection, Map<string, number>>;
  /** Responses by direction, keyed `METHOD code` (the CSeq method; `other` when unknown). */
  responses: Record<SipDirection, Map<string, number>>;
}

export type SipDirection = 'received' | 'sent';

/**
 * The method as counted: names outside RFC 3261 and its extensions are `other`, so that a
 * peer sending made-up methods cannot grow the counters (and the metrics' label sets) forever.
 */
export function methodLabel(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : 'other';
}

export interface SipStackOptions {
  transports: Transport[];
  clock: Clock;
  timers?: TimerConfig;
  logger: Logger;
  /** The address we write into Via and Contact; defaults to the transport's local address. */
  advertisedHost?: string;
  /** Per peer (its IP), the address it sees (--local-nets); wins over advertisedHost. */
  hostFor?: (peer: string | undefined) => string;
}

/**
 * The transport and transaction layers of RFC 3261 (§17, §18): frames and parses
 * messages, stamps Via with received/rport (§18.2.1, RFC 3581), matches
 * transactions, absorbs retransmissions, and hands the transaction user (the UA
 * core) new requests and stray responses. It never throws from a socket handler.
 */
export class SipStack {
  readonly timers: TimerConfig;
  readonly counters: StackCounters = {
    received: 0,
    sent: 0,
    dropped: 0,
    badRequests: 0,
    retransmissionsAbsorbed: 0,
    requests: { received: new Map(), sent: new Map() },
    responses: { received: new Map(), sent: new Map() },
  };
  onRequest: ((incoming: IncomingRequest) => void) | null = null;
  /** Responses no client transaction owns: 2xx retransmissions to an INVITE (`cseq` as parsed here). */
  onStrayResponse: ((res: SipResponse, from: Endpoint, cseq: CSeq) => void) | null = null;
  /**
   * The gate for INVITEs that start a dialog (call limits): a refusal is answered
   * statelessly (§8.2.7) before any transaction exists, so a flood costs one
   * response per request and holds nothing.
   */
  admitInvite:
    | ((
        req: SipRequest,
        from: Endpoint,
      ) => { status: number; reason: string; retryAfter: number } | undefined)
    | null = null;

  private readonly transports = new Map<TransportName, Transport>();
  private readonly serverTxs = new Map<string, ServerTransaction>();
  private readonly clientTxs = new Map<string, ClientTransaction>();
  /**
   * RFC 6026 §7.1 ("Accepted"): an INVITE answered with a 2xx is remembered for
   * 64·T1 so that its retransmissions are absorbed, not taken for a new call
   * (the UA core retransmits the 2xx itself).
   */
  private readonly accepted = new Map<string, TimerHandle>();
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly opts: SipStackOptions) {
    this.clock = opts.clock;
    this.log = opts.logger;
    this.timers = opts.timers ?? DEFAULT_TIMERS;
    for (const t of opts.transports) {
      this.transports.set(t.name, t);
      t.onData = (data, from) => this.receive(data, from);
      t.onError = (err, peer) => {
        this.counters.dropped++;
        this.log.debug({ err: err.message, peer }, 'transport error');
        if (peer && peer.transport !== 'udp') this.failTransactionsTo(peer, err);
      };
    }
  }

  /** Host and port to put in our Via and Contact for a transport (as `peer` should see them). */
  localAddress(transport: TransportName, peer?: string): { host: string; port: number } {
    const t = this.transports.get(transport) ?? [...this.transports.values()][0];
    if (!t) throw new Error('no transport');
    const host = this.opts.hostFor?.(peer) ?? this.opts.advertisedHost ?? t.local.address;
    return { host, port: t.local.port };
  }

  hasTransport(name: TransportName): boolean {
    return this.transports.has(name);
  }

  get activeTransactions(): number {
    return this.serverTxs.size + this.clientTxs.size;
  }

  newBranch(): string {
    return MAGIC + randomBytes(8).toString('hex');
  }

  /** Starts a client transaction. The request's top Via must carry our branch. */
  sendRequest(req: SipRequest, to: Endpoint, user: ClientTxUser): ClientTransaction {
    const via = topVia(req);
    const key = clientKey(via?.params.get('branch') ?? '', req.method);
    const tx = new ClientTransaction(key, req, to, user, {
      clock: this.clock,
      timers: this.timers,
      send: (m, dest) => this.send(m, dest),
      buildAck: buildNon2xxAck,
      onTerminated: (t) => {
        if (this.clientTxs.get(t.key) === t) this.clientTxs.delete(t.key);
      },
    });
    this.clientTxs.set(key, tx);
    tx.start();
    return tx;
  }

  /** Sends without a transaction: ACK for a 2xx, 2xx retransmissions. */
  send(msg: SipMessage, to: Endpoint): void {
    const t = this.transports.get(to.transport);
    if (!t) {
      this.counters.dropped++;
      return;
    }
    this.counters.sent++;
    if (msg.kind === 'request') bump(this.counters.requests.sent, methodLabel(msg.method));
    else
      bump(
        this.counters.responses.sent,
        `${methodLabel(parseCSeq(getHeader(msg, 'cseq') ?? '')?.method)} ${msg.status}`,
      );
    t.send(serializeMessage(msg), to);
  }

  /**
   * §17.1.4: a connection failed (refused, reset, TLS handshake): the client
   * transactions that went over it fail now rather than at Timer B/F, and are
   * never resent another way. UDP errors (ICMP) are left to the timers.
   */
  private failTransactionsTo(peer: Endpoint, err: Error): void {
    const key = endpointKey(peer);
    for (const tx of [...this.clientTxs.values()])
      if (endpointKey(tx.destination) === key) tx.transportError(err);
  }

  /** A server transaction whose INVITE a CANCEL names (§9.2); `via`, `cseq` as parsed on arrival. */
  findInviteFor(
    cancel: SipRequest,
    source: Endpoint,
    via: Via,
    cseq: CSeq | undefined,
  ): ServerTransaction | undefined {
    return this.serverTxs.get(serverKey(cancel, via, cseq, source, 'INVITE'));
  }

  private receive(data: Buffer, from: Endpoint): void {
    try {
      this.counters.received++;
      if (data.length > MAX_MESSAGE_BYTES) {
        this.counters.dropped++;
        return;
      }
      const parsed = parseMessage(data);
      if (!parsed.ok) {
        if (parsed.request && parsed.request.method !== 'ACK') {
          const res = buildBadRequest(parsed.request, parsed.error);
          if (res) {
            this.counters.badRequests++;
            this.send(res, responseTargetFor(topVia(res), from));
            return;
          }
        }
        this.counters.dropped++;
        this.log.debug({ from, error: parsed.error }, 'unparseable message dropped');
        return;
      }
      const msg = parsed.message;
      if (msg.kind === 'request') this.receiveRequest(msg, from);
      else this.receiveResponse(msg, from, parsed.top);
    } catch (err) {
      // A bug in a handler must not take the process down with it.
      this.counters.dropped++;
      this.log.error({ err, from }, 'error while handling a SIP message');
    }
  }

  private receiveRequest(req: SipRequest, from: Endpoint): void {
    bump(this.counters.requests.received, methodLabel(req.method));
    const via = stampVia(req, from);
    if (!via) {
      // A top Via is there but malformed (RFC 4475 §3.1.2.1): answer 400 to where the
      // request came from, since the sent-by cannot be trusted. No Via at all: drop.
      if (
        req.method !== 'ACK' &&
        getHeader(req, 'via') !== undefined &&
        getHeader(req, 'cseq') !== undefined
      ) {
        this.counters.badRequests++;
        this.send(buildResponse(req, 400, { reason: 'Malformed Via', toTag: randomTag() }), from);
        return;
      }
      this.counters.dropped++;
      return;
    }
    const cseq = parseCSeq(getHeader(req, 'cseq') ?? '');
    const method = req.method === 'ACK' ? 'INVITE' : req.method;
    const key = serverKey(req, via, cseq, from, method);
    const existing = this.serverTxs.get(key);
    if (existing) {
      this.counters.retransmissionsAbsorbed += req.method === 'ACK' ? 0 : 1;
      existing.receive(req);
      return;
    }
    if (req.method === 'ACK') {
      this.onRequest?.({ request: req, source: from, tx: undefined, via, cseq });
      return;
    }
    if (req.method === 'INVITE' && this.accepted.has(key)) {
      this.counters.retransmissionsAbsorbed++;
      return;
    }
    if (req.method === 'INVITE' && this.admitInvite && !tagOf(getHeader(req, 'to') ?? '')) {
      const refusal = this.admitInvite(req, from);
      if (refusal) {
        const { status, reason, retryAfter } = refusal;
        const headers = [{ name: 'Retry-After', value: String(retryAfter) }];
        this.send(
          buildResponse(req, status, { reason, toTag: randomTag(), headers }),
          responseTargetFor(via, from),
        );
        return;
      }
    }
    const tx = new ServerTransaction(key, req, from, responseTargetFor(via, from), {
      clock: this.clock,
      timers: this.timers,
      send: (res, to) => this.send(res, to),
      onTerminated: (t) => {
        if (this.serverTxs.get(t.key) === t) this.serverTxs.delete(t.key);
        const status = t.lastResponse?.status ?? 0;
        if (t.isInvite && status >= 200 && status < 300 && !this.accepted.has(t.key)) {
          this.accepted.set(
            t.key,
            this.clock.setTimeout(() => this.accepted.delete(t.key), 64 * this.timers.t1),
          );
        }
      },
    });
    this.serverTxs.set(key, tx);
    this.onRequest?.({ request: req, source: from, tx, via, cseq });
  }

  /** `top`: the top Via and CSeq parseMessage checked (it drops a response without them). */
  private receiveResponse(res: SipResponse, from: Endpoint, top: { via: Via; cseq: CSeq } | undefined): void {
    bump(this.counters.responses.received, `${methodLabel(top?.cseq.method)} ${res.status}`);
    if (!top) {
      this.counters.dropped++;
      return;
    }
    const { via, cseq } = top;
    const tx = this.clientTxs.get(clientKey(via.params.get('branch') ?? '', cseq.method));
    if (tx) tx.receive(res);
    else this.onStrayResponse?.(res, from, cseq);
  }

  async close(): Promise<void> {
    for (const timer of this.accepted.values()) this.clock.clearTimeout(timer);
    this.accepted.clear();
    for (const tx of [...this.serverTxs.values()]) tx.destroy();
    for (const tx of [...this.clientTxs.values()]) tx.destroy();
    await Promise.all([...this.transports.values()].map((t) => t.close()));
  }
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

export function topVia(msg: SipMessage): Via | undefined {
  const v = getHeader(msg, 'via');
  return v === undefined ? undefined : parseVia(v);
}

function clientKey(branch: string, method: string): string {
  return `${branch}|${method === 'ACK' ? 'INVITE' : method}`;
}

/** §17.2.3: branch + sent-by + method, or the RFC 2543 fallback without a magic cookie. */
function serverKey(
  req: SipRequest,
  via: Via,
  cseq: CSeq | undefined,
  from: Endpoint,
  method: string,
): string {
  const branch = via.params.get('branch') ?? '';
  if (branch.startsWith(MAGIC)) return `${branch}|${via.host}:${via.port ?? ''}|${method}`;
  const fromTag = /;\s*tag=([^;>\s]+)/i.exec(getHeader(req, 'from') ?? '')?.[1] ?? '';
  const seq = cseq?.seq ?? '';
  return `2543|${getHeader(req, 'call-id') ?? ''}|${fromTag}|${seq}|${method}|${from.address}:${from.port}`;
}

/**
 * §18.2.1 and RFC 3581: records where a request really came from in its top
 * Via, so that responses follow it. Splits comma-joined Via lines so that the
 * top one can be rewritten. Returns the stamped top Via, undefined when there is no usable one.
 */
function stampVia(req: SipRequest, from: Endpoint): Via | undefined {
  const vias = getHeaderValues(req, 'via');
  const top = vias[0] !== undefined ? parseVia(vias[0]) : undefined;
  if (!top) return undefined;
  if (top.host !== from.address) top.params.set('received', from.address);
  if (top.params.has('rport')) top.params.set('rport', String(from.port));
  const first = req.headers.findIndex((h) => headerKey(h.name) === 'via');
  const rest: HeaderField[] = req.headers.filter((h) => headerKey(h.name) !== 'via');
  const exploded: HeaderField[] = [
    { name: 'Via', value: formatVia(top) },
    ...vias.slice(1).map((value) => ({ name: 'Via', value })),
  ];
  rest.splice(first, 0, ...exploded);
  req.headers = rest;
  return top;
}

/**
 * §18.2.2 and RFC 3581 §4: reliable transports answer on the connection the
 * request came from; UDP answers the source address (never a host named in the
 * message), at the source port when rport was asked for, else the sent-by port.
 */
function responseTargetFor(via: Via | undefined, from: Endpoint): Endpoint {
  if (from.transport !== 'udp') return from;
  const port = via?.params.has('rport') ? from.port : (via?.port ?? 5060);
  return { transport: 'udp', address: from.address, port };
}
