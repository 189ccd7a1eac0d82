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

/** An IPv4 network in CIDR notation (`192.168.0.0/16`), as 32-bit numbers. */
export interface Cidr {
  text: string;
  base: number;
  mask: number;
}

const ipv4ToInt = (a: string): number | undefined => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
};

/** `A.B.C.D/N` (N 0–32; a bare address is /32), or undefined. Host bits are ignored. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, bits, extra] = text.trim().split('/');
  if (addr === undefined || extra !== undefined) return undefined;
  const ip = ipv4ToInt(addr);
  if (ip === undefined) return undefined;
  if (bits !== undefined && !/^\d{1,2}$/.test(bits)) return undefined;
  const n = bits === undefined ? 32 : Number(bits);
  if (n > 32) return undefined;
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return { text: `${addr}/${n}`, base: (ip & mask) >>> 0, mask };
}

export function inCidr(address: string, net: Cidr): boolean {
  // An IPv4-mapped IPv6 source (::ffff:10.0.0.5) is that IPv4 address.
  const ip = ipv4ToInt(address.startsWith('::ffff:') ? address.slice(7) : address);
  return ip !== undefined && (ip & net.mask) >>> 0 === net.base;
}

/**
 * The one place that decides which address a peer sees in our SDP, Contact and Via
 * (issue 10 item 6, as Asterisk's `local_net`): a peer inside one of `localNets` is on
 * our side of the NAT and gets our own interface address; every other peer (and an
 * unknown one) gets the advertised address.
 */
export class AddressPolicy {
  constructor(
    readonly advertised: string,
    readonly local: string,
    readonly localNets: readonly Cidr[] = [],
  ) {}

  hostFor(peer: string | undefined): string {
    if (peer === undefined || this.localNets.length === 0) return this.advertised;
    return this.localNets.some((n) => inCidr(peer, n)) ? this.local : this.advertised;
  }
}
