import net from 'node:net';
import { frameStream } from '../message/parse.ts';
import { endpointKey, type Endpoint, type Transport } from './transport.ts';

const MAX_BUFFERED = 65536 * 2;
const IDLE_MS = 10 * 60_000;

/**
 * RFC 3261 §18 over TCP: messages are framed by Content-Length. Connections are
 * kept per remote endpoint and reused for requests and responses both ways
 * (§18.2.2: a response goes back over the connection the request came on).
 */
export class TcpTransport implements Transport {
  readonly name = 'tcp' as const;
  onData: ((data: Buffer, from: Endpoint) => void) | null = null;
  onError: ((err: Error, peer?: Endpoint) => void) | null = null;
  private readonly connections = new Map<string, net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly local: { address: string; port: number },
  ) {}

  static async listen(host: string, port: number): Promise<TcpTransport> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address() as net.AddressInfo;
    const t = new TcpTransport(server, { address: addr.address, port: addr.port });
    server.on('connection', (socket) => t.adopt(socket));
    server.on('error', (err) => t.onError?.(err));
    return t;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  send(data: Buffer, to: Endpoint): void {
    const key = endpointKey(to);
    let socket = this.connections.get(key);
    if (!socket || socket.destroyed) {
      socket = net.connect({ host: to.address, port: to.port });
      this.adopt(socket, to);
    }
    socket.write(data);
  }

  private adopt(socket: net.Socket, known?: Endpoint): void {
    const peer: Endpoint = known ?? {
      transport: 'tcp',
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
    };
    const key = endpointKey(peer);
    this.connections.set(key, socket);
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      pending = this.drain(pending, peer, socket);
    });
    socket.on('error', (err) => this.onError?.(err, peer));
    socket.on('close', () => {
      if (this.connections.get(key) === socket) this.connections.delete(key);
    });
  }

  /** Delivers every complete message in `buf` and returns what is left over. */
  private drain(buf: Buffer, peer: Endpoint, socket: net.Socket): Buffer {
    for (;;) {
      let start = 0;
      // RFC 5626 keep-alives (CRLF) between messages are skipped.
      while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
      if (start > 0) buf = buf.subarray(start);
      if (buf.length === 0) return buf;
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
      this.onData?.(buf.subarray(0, framed.length), peer);
      buf = buf.subarray(framed.length);
    }
  }

  close(): Promise<void> {
    for (const s of this.connections.values()) s.destroy();
    this.connections.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
