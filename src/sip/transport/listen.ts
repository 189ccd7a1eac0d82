import { TcpTransport, type TcpLimits } from './tcp.ts';
import { UdpTransport } from './udp.ts';

/**
 * UDP and TCP on the same port (RFC 3261 §18). With port 0 the port UDP got
 * may already be taken for TCP: then another one is tried.
 */
export async function listenUdpAndTcp(
  host: string,
  port: number,
  tcpLimits: Partial<TcpLimits> = {},
): Promise<{ udp: UdpTransport; tcp: TcpTransport }> {
  for (let attempt = 1; ; attempt++) {
    const udp = await UdpTransport.listen(host, port);
    try {
      const tcp = await TcpTransport.listen(host, udp.local.port, tcpLimits);
      return { udp, tcp };
    } catch (err) {
      await udp.close();
      const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (port !== 0 || !inUse || attempt >= 10) throw err;
    }
  }
}
