import { readFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import { DEFAULT_TCP_LIMITS, StreamTransport, type TcpLimits } from './tcp.ts';
import type { Endpoint } from './transport.ts';

/** PEM files of the TLS transport (RFC 3261 §26.2). */
export interface TlsFiles {
  /** Our certificate chain and key: without them there is no listener, only client connections. */
  cert?: string;
  key?: string;
  /**
   * CA certificates that peers' certificates are checked against, instead of
   * the system's (a private CA, tests).
   */
  ca?: string;
}

/** The same in memory: what TlsTransport.listen takes. */
export interface TlsMaterial {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  /** How long a handshake may take, both ways (tests shorten it). */
  handshakeMs?: number;
}

export function readTlsFiles(files: TlsFiles): TlsMaterial {
  return {
    ...(files.cert ? { cert: readFileSync(files.cert) } : {}),
    ...(files.key ? { key: readFileSync(files.key) } : {}),
    ...(files.ca ? { ca: readFileSync(files.ca) } : {}),
  };
}

/** A TLS handshake a peer starts with us that does not finish in this long is dropped (node's default is 120 s). */
const HANDSHAKE_MS = 10_000;
/**
 * A handshake we start: shorter, below the 4 s after which a silent trunk is
 * given up (engine noResponseMs), so that a TLS failure is reported as one.
 */
const CLIENT_HANDSHAKE_MS = 3000;

/**
 * SIP over TLS (RFC 3261 §26.2, §18; Via `SIP/2.0/TLS`). Framing, connection
 * reuse, caps and idle limits are the TCP transport's: only opening and
 * accepting a connection differ. Connections we open verify the peer's
 * certificate — against the system CAs, or `ca` when given — and the address
 * we dialled must be in it (an IP SAN: we only ever dial literal addresses).
 * A failed handshake is reported through onError with the peer, like any
 * connection failure, so that the transactions waiting on it fail at once
 * (§8.1.3.1: as a 503) instead of being sent anywhere else.
 */
export class TlsTransport extends StreamTransport {
  readonly name = 'tls' as const;

  private constructor(
    server: tls.Server | undefined,
    local: { address: string; port: number },
    limits: TcpLimits,
    private readonly material: TlsMaterial,
  ) {
    super(server, local, limits);
  }

  /** Whether we accept TLS connections, or only open them (no certificate configured). */
  get listening(): boolean {
    return this.material.cert !== undefined && this.material.key !== undefined;
  }

  /**
   * With a certificate and key: listens on host:port. Without: a client-only
   * transport (trunks and phones reached over TLS), whose `local` names the
   * port we would listen on, for Via.
   */
  static async listen(
    host: string,
    port: number,
    material: TlsMaterial,
    limits: Partial<TcpLimits> = {},
  ): Promise<TlsTransport> {
    const all = { ...DEFAULT_TCP_LIMITS, ...limits };
    if (!material.cert || !material.key)
      return new TlsTransport(undefined, { address: host, port }, all, material);
    const server = tls.createServer({
      cert: material.cert,
      key: material.key,
      handshakeTimeout: material.handshakeMs ?? HANDSHAKE_MS,
      // Phones have no client certificates; digest authentication identifies them (§22).
      requestCert: false,
    });
    const addr = await StreamTransport.bind(server, host, port);
    const t = new TlsTransport(server, { address: addr.address, port: addr.port }, all, material);
    // 'connection' comes before the handshake: the caps are checked there.
    server.on('connection', (socket: net.Socket) => t.admit(socket));
    server.on('secureConnection', (socket: tls.TLSSocket) => t.adopt(socket, undefined, true));
    server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      const peer: Endpoint = {
        transport: 'tls',
        address: socket.remoteAddress ?? '',
        port: socket.remotePort ?? 0,
      };
      t.onError?.(new Error(`TLS handshake failed: ${err.message}`), peer);
      // With a listener here node leaves the socket open (a handshake timeout too): a peer that
      // never finished its handshake would hold its place under the connection caps for good.
      socket.destroy();
    });
    return t;
  }

  protected connect(to: Endpoint): net.Socket {
    const socket = tls.connect({
      host: to.address,
      port: to.port,
      ...(this.material.ca ? { ca: this.material.ca } : {}),
      // Never accept an unverified peer: a sips:/TLS target either verifies or fails.
      rejectUnauthorized: true,
      // Our certificate, should the peer ask for one (mutual TLS between servers).
      ...(this.material.cert && this.material.key
        ? { cert: this.material.cert, key: this.material.key }
        : {}),
    });
    // A peer that never finishes the handshake (a plain TCP port takes our
    // ClientHello for the start of a message and waits) is an error, not a hang.
    const ms = this.material.handshakeMs ?? CLIENT_HANDSHAKE_MS;
    // A timer of its own: socket.setTimeout counts any socket activity, not the handshake.
    const timer = setTimeout(
      () => socket.destroy(new Error(`TLS handshake not finished within ${ms} ms (is it a TLS port?)`)),
      ms,
    );
    timer.unref();
    let secure = false;
    socket.once('secureConnect', () => {
      secure = true;
      clearTimeout(timer);
    });
    socket.once('close', () => clearTimeout(timer));
    // The operator must act on a TLS peer we cannot reach (its certificate, our
    // --tls-ca, a port that is no TLS port): one warn line per peer a minute.
    socket.once('error', (err: Error) => {
      if (!secure)
        this.warn(
          `connect:${to.address}:${to.port}`,
          { peer: `${to.address}:${to.port}`, err: err.message },
          'TLS connection failed: nothing is sent to this peer without TLS',
        );
    });
    // Writes made before the handshake wait for it (TLSSocket buffers them).
    return socket;
  }
}
