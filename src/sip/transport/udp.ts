import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Endpoint, Transport } from './transport.ts';

/** RFC 3261 §18 over UDP: one datagram is one message. */
export class UdpTransport implements Transport {
  readonly name = 'udp' as const;
  onData: ((data: Buffer, from: Endpoint) => void) | null = null;
  onError: ((err: Error, peer?: Endpoint) => void) | null = null;

  private constructor(
    private readonly socket: dgram.Socket,
    readonly local: { address: string; port: number },
  ) {}

  static async listen(host: string, port: number): Promise<UdpTransport> {
    const socket = dgram.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    const addr = socket.address();
    const t = new UdpTransport(socket, { address: addr.address, port: addr.port });
    socket.on('message', (msg, rinfo) => {
      t.onData?.(msg, { transport: 'udp', address: rinfo.address, port: rinfo.port });
    });
    socket.on('error', (err) => t.onError?.(err));
    return t;
  }

  send(data: Buffer, to: Endpoint): void {
    this.socket.send(data, to.port, to.address, (err) => {
      if (err) this.onError?.(err, to);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}
