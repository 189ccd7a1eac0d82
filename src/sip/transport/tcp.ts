import net from 'node:net';
import type { Logger } from 'pino';
import { frameStream } from '../message/parse.ts';
import { endpointKey, type Endpoint, type Transport } from './transport.ts';

const MAX_BUFFERED = 65536 * 2;
/** Warn lines about refused or idle connections come at most this often per reason. */
const WARN_EVERY_MS = 60_000;

/**
 * Resource limits of the TCP listener (issue 11: 1,250 idle connections took
 * every descriptor). 0 turns a cap off.
 */
export interface TcpLimits {
  /** Open connections at most, ours and the peers'; an accepted one beyond is closed at once. */
  maxConnections: number;
  /** Accepted connections from one source address at most. */
  maxPerSource: number;
  /**
   * A connection that carries no complete SIP message (nor an RFC 5626 keep-alive)
   * for this long is closed. Bytes that never complete a message do not count.
   */
  idleMs: number;
  logger?: Logger;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = { maxConnections: 1000, maxPerSource: 20, idleMs: 120_000 };

export interface TcpStats {
  accepted: number;
  refusedTotal: number;
  refusedPerSource: number;
  idleClosed: number;
  keepAlives: number;
}

export interface Connection {
  socket: net.Socket;
  peer: Endpoint;
  /** Accepted from a peer (counts against its per-source cap), or opened by us. */
  inbound: boolean;
  /** performance.now() of the last complete message or keep-alive. */
  lastActivity: number;
  /** Not closed for idleness before this (a flow a registration lives on). */
  holdUntil: number;
  /** CR/LF bytes seen since the last message: RFC 5626 ping detection. */
  crlf: string;
}

const now = (): number => performance.now();

/** The connection-oriented transports: plain TCP, and TLS over it (§26.2). */
export type StreamName = 'tcp' | 'tls';

/**
 * RFC 3261 §18 over a stream (TCP, or TLS over TCP): messages are framed by
 * Content-Length. Connections are kept per remote endpoint and reused for
 * requests and responses both ways (§18.2.2: a response goes back over the
 * connection the request came on). TLS (tls.ts) differs only in how a
 * connection is opened and accepted; framing, caps and idle limits are these.
 *
 * Idle connections are found by one sweep timer (not one timer per socket), on
 * Node's clock rather than the injected one: it is transport housekeeping, like
 * a socket timeout, and must not show up among protocol timers.
 */
export abstract class StreamTransport implements Transport {
  abstract readonly name: StreamName;
  onData: ((data: Buffer, from: Endpoint) => void) | null = null;
  onError: ((err: Error, peer?: Endpoint) => void) | null = null;
  readonly stats: TcpStats = {
    accepted: 0,
    refusedTotal: 0,
    refusedPerSource: 0,
    idleClosed: 0,
    keepAlives: 0,
  };
  private readonly connections = new Map<string, Connection>();
  private readonly perSource = new Map<string, number>();
  /** Accepted sockets not yet closed (TLS: also those still in their handshake). */
  private inboundOpen = 0;
  /** Connections we opened, not yet closed. */
  private outboundOpen = 0;
  /** Every accepted socket until it closes (TLS: also in its handshake, before it is a Connection), for close(). */
  private readonly acceptedSockets = new Set<net.Socket>();
  private readonly sweeper: NodeJS.Timeout | undefined;
  private readonly lastWarn = new Map<string, number>();

  protected constructor(
    /** Absent for a client-only transport (TLS without a certificate of ours). */
    private readonly server: net.Server | undefined,
    readonly local: { address: string; port: number },
    readonly limits: TcpLimits,
  ) {
    if (limits.idleMs > 0) {
      const every = Math.min(5000, Math.max(50, Math.floor(limits.idleMs / 4)));
      this.sweeper = setInterval(() => this.sweepIdle(), every);
      this.sweeper.unref();
    }
    server?.on('error', (err) => this.onError?.(err));
  }

  /** Opens a connection of this transport's kind to a peer: plain TCP, or a TLS client. */
  protected abstract connect(to: Endpoint): net.Socket;

  /** Listens exclusively, so that TCP and TLS never share a port by accident. */
  protected static async bind(server: net.Server, host: string, port: number): Promise<net.AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true, backlog: 1024 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server.address() as net.AddressInfo;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Whether a connection to `peer` is open now (a registered phone's flow, §18.2.2). */
  isConnected(peer: Endpoint): boolean {
    const conn = this.connections.get(endpointKey(peer));
    return conn !== undefined && !conn.socket.destroyed;
  }

  send(data: Buffer, to: Endpoint): void {
    const key = endpointKey(to);
    let conn = this.connections.get(key);
    if (!conn || conn.socket.destroyed) conn = this.adopt(this.connect(to), to, false);
    conn.socket.write(data);
  }

  /**
   * Keeps the connection to `peer` open for `ms` even when idle: a phone
   * registered over TCP or TLS is reached through the connection it registered
   * on (§18.2.2, RFC 5626), so that flow lives as long as the binding.
   */
  holdOpen(peer: Endpoint, ms: number): void {
    const conn = this.connections.get(endpointKey(peer));
    if (conn) conn.holdUntil = Math.max(conn.holdUntil, now() + ms);
  }

  /**
   * A peer connected (TLS: before its handshake, so that the caps cost no
   * crypto): within the caps it is counted and true is returned, beyond them it
   * is closed at once. The count is released when the socket closes.
   */
  protected admit(socket: net.Socket): boolean {
    const address = socket.remoteAddress ?? '';
    const { maxConnections, maxPerSource } = this.limits;
    const reason =
      maxConnections > 0 && this.inboundOpen + this.outboundOpen >= maxConnections
        ? 'total'
        : maxPerSource > 0 && (this.perSource.get(address) ?? 0) >= maxPerSource
          ? 'per_source'
          : undefined;
    if (reason) {
      if (reason === 'total') this.stats.refusedTotal++;
      else this.stats.refusedPerSource++;
      socket.on('error', () => {}); // a reset while we close it is no news
      socket.destroy();
      this.warn(
        reason,
        { source: address },
        `${this.name.toUpperCase()} connection refused: ${reason} cap reached`,
      );
      return false;
    }
    this.stats.accepted++;
    this.inboundOpen++;
    this.perSource.set(address, (this.perSource.get(address) ?? 0) + 1);
    this.acceptedSockets.add(socket);
    socket.once('close', () => {
      this.acceptedSockets.delete(socket);
      this.inboundOpen--;
      const n = (this.perSource.get(address) ?? 1) - 1;
      if (n > 0) this.perSource.set(address, n);
      else this.perSource.delete(address);
    });
    return true;
  }

  /** Takes over a connected (TLS: handshaken) socket: framing, keep-alives, idle accounting. */
  protected adopt(socket: net.Socket, known: Endpoint | undefined, inbound: boolean): Connection {
    const peer: Endpoint = known ?? {
      transport: this.name,
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
    };
    const key = endpointKey(peer);
    const conn: Connection = { socket, peer, inbound, lastActivity: now(), holdUntil: 0, crlf: '' };
    this.connections.set(key, conn);
    if (!inbound) this.outboundOpen++;
    socket.setNoDelay(true);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      pending = this.drain(pending, conn);
    });
    socket.on('error', (err) => this.onError?.(err, peer));
    socket.on('close', () => {
      if (this.connections.get(key) === conn) this.connections.delete(key);
      if (!inbound) this.outboundOpen--;
    });
    return conn;
  }

  /** Delivers every complete message in `buf` and returns what is left over. */
  private drain(buf: Buffer, conn: Connection): Buffer {
    const { peer, socket } = conn;
    for (;;) {
      let start = 0;
      // RFC 5626 §4.4.1 keep-alives between messages: a double CRLF ("ping") is
      // answered with a single CRLF ("pong") and counts as activity; other
      // CR/LF bytes are skipped.
      while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) {
        conn.crlf = (conn.crlf + (buf[start] === 0x0d ? '\r' : '\n')).slice(-4);
        if (conn.crlf === '\r\n\r\n') {
          conn.crlf = '';
          conn.lastActivity = now();
          this.stats.keepAlives++;
          if (!socket.destroyed) socket.write('\r\n');
        }
        start++;
      }
      if (start > 0) buf = buf.subarray(start);
      if (buf.length === 0) return buf;
      conn.crlf = '';
      const framed = frameStream(buf);
      if (framed === 'incomplete') {
        if (buf.length > MAX_BUFFERED) {
          this.onError?.(new Error('oversized message on stream'), peer);
          socket.destroy();
          return Buffer.alloc(0);
        }
        return Buffer.from(buf); // detach from the chunk we were handed
      }
      if ('error' in framed) {
        // A stream cannot resynchronise after a framing error (§18.3): close it.
        this.onError?.(new Error(framed.error), peer);
        socket.destroy();
        return Buffer.alloc(0);
      }
      conn.lastActivity = now();
      this.onData?.(buf.subarray(0, framed.length), peer);
      buf = buf.subarray(framed.length);
    }
  }

  private sweepIdle(): void {
    const t = now();
    let closed = 0;
    for (const conn of this.connections.values()) {
      if (t - conn.lastActivity < this.limits.idleMs || conn.holdUntil > t) continue;
      closed++;
      conn.socket.destroy();
    }
    if (closed === 0) return;
    this.stats.idleClosed += closed;
    this.warnIdle(closed);
  }

  private warnIdle(closed: number): void {
    // Idle connections are routine in small numbers; many at once look like an attack.
    if (closed >= 10) this.warn('idle', { closed }, `idle ${this.name.toUpperCase()} connections closed`);
  }

  protected warn(reason: string, fields: Record<string, unknown>, msg: string): void {
    const t = now();
    const last = this.lastWarn.get(reason);
    if (last !== undefined && t - last < WARN_EVERY_MS) return;
    this.lastWarn.set(reason, t);
    this.limits.logger?.warn({ ...fields, ...this.stats, open: this.connections.size }, msg);
  }

  close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    for (const c of this.connections.values()) c.socket.destroy();
    this.connections.clear();
    // A TLS socket still in its handshake is no Connection yet; the server's close waits for it.
    for (const s of this.acceptedSockets) s.destroy();
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

/** SIP over plain TCP. */
export class TcpTransport extends StreamTransport {
  readonly name = 'tcp' as const;

  static async listen(host: string, port: number, limits: Partial<TcpLimits> = {}): Promise<TcpTransport> {
    const server = net.createServer();
    const addr = await StreamTransport.bind(server, host, port);
    const t = new TcpTransport(
      server,
      { address: addr.address, port: addr.port },
      { ...DEFAULT_TCP_LIMITS, ...limits },
    );
    server.on('connection', (socket) => {
      if (t.admit(socket)) t.adopt(socket, undefined, true);
    });
    return t;
  }

  protected connect(to: Endpoint): net.Socket {
    return net.connect({ host: to.address, port: to.port });
  }
}
