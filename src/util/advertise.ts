import { createSocket } from 'node:dgram';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/** The address we put in Via, Contact and SDP, and how it was found (for the start-up line). */
export interface AdvertiseChoice {
  host: string;
  /** `flag`: --advertise; `listen`: a specific listen address; `route`: the interface routing to the peer; `interface`: the first non-loopback IPv4; `loopback`: nothing better. */
  how: 'flag' | 'listen' | 'route' | 'interface' | 'loopback';
}

const isLoopback = (a: string): boolean => a.startsWith('127.') || a === '::1';

/** The first non-internal IPv4 address of the machine's interfaces, if any. */
export function firstNonLoopbackIPv4(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string | undefined {
  for (const list of Object.values(interfaces))
    for (const i of list ?? [])
      if (i.family === 'IPv4' && !i.internal && !isLoopback(i.address)) return i.address;
  return undefined;
}

/**
 * The local address the kernel would send from towards `peer` (an IPv4
 * literal): a UDP socket's connect() picks the route without sending anything.
 */
export async function routeSourceTo(peer: string): Promise<string | undefined> {
  const sock = createSocket('udp4');
  try {
    return await new Promise<string | undefined>((resolve) => {
      sock.once('error', () => resolve(undefined));
      sock.connect(9, peer, () => {
        try {
          resolve(sock.address().address);
        } catch {
          resolve(undefined);
        }
      });
    });
  } finally {
    sock.close();
  }
}

/**
 * What to advertise (issue 10): --advertise wins; a specific listen address is
 * itself; on 0.0.0.0 the interface that routes to `peer` (the trunk), else the
 * first non-loopback IPv4 — never 127.0.0.1 while a real interface exists.
 */
export async function chooseAdvertised(opts: {
  listen: string;
  advertise?: string | undefined;
  peer?: string | undefined;
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}): Promise<AdvertiseChoice> {
  if (opts.advertise) return { host: opts.advertise, how: 'flag' };
  if (opts.listen === '::') return { host: '::1', how: 'loopback' };
  if (opts.listen !== '0.0.0.0') return { host: opts.listen, how: 'listen' };
  if (opts.peer && /^\d{1,3}(\.\d{1,3}){3}$/.test(opts.peer)) {
    const routed = await routeSourceTo(opts.peer);
    if (routed && !isLoopback(routed) && routed !== '0.0.0.0') return { host: routed, how: 'route' };
  }
  const first = firstNonLoopbackIPv4(opts.interfaces);
  return first ? { host: first, how: 'interface' } : { host: '127.0.0.1', how: 'loopback' };
}
