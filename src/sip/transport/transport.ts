/**
 * The one interface every SIP transport offers to the layers above. A transport
 * never throws from a socket handler: bad input is counted and dropped.
 */
export type TransportName = 'udp' | 'tcp' | 'tls';

/** Where a message came from or goes to: always a literal address, never a name. */
export interface Endpoint {
  transport: TransportName;
  address: string;
  port: number;
}

export interface Transport {
  readonly name: TransportName;
  /** The address and port we listen on. */
  readonly local: { address: string; port: number };
  /** Sends one framed message. Errors are reported through onError, not thrown. */
  send(data: Buffer, to: Endpoint): void;
  /** A complete message's bytes (a datagram, or one Content-Length frame of a stream). */
  onData: ((data: Buffer, from: Endpoint) => void) | null;
  /** A stream framing error or a send failure; the caller counts it. */
  onError: ((err: Error, peer?: Endpoint) => void) | null;
  close(): Promise<void>;
}

export const endpointKey = (e: Endpoint): string => `${e.transport}:${e.address}:${e.port}`;

/** IPv6 literals go in brackets inside SIP headers and URIs. */
export const hostForUri = (address: string): string => (address.includes(':') ? `[${address}]` : address);
