import { parseUri } from '../sip/message/uri.ts';
import type { Endpoint } from '../sip/transport/transport.ts';
import type { OutboundAuth } from '../sip/user-agent.ts';
import type { DialTarget } from './engine.ts';
import type { TrunkInbandDtmf } from '../store/store.ts';
import { formatNumber, type Country, type NumberFormat } from '../util/phone-number.ts';
import type { SrtpPolicy } from './sdp.ts';

/** A registered SIP contact: where the phone said it is, and where it really sent from. */
export interface Binding {
  contact: import('../sip/message/types.ts').SipUri;
  source: Endpoint;
}

export interface BindingLookup {
  lookup(user: string): Binding[];
}

/** Whether a connection-oriented flow (TCP, TLS) is still open. */
export type FlowCheck = (flow: Endpoint) => boolean;

export interface TrunkConfig {
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
}

/** A trunk as outbound routing sees it: where, with which credentials, for whom. */
export interface OutboundTrunk extends TrunkConfig {
  name: string;
  priority: number;
  auth?: OutboundAuth;
  /** Up, down or not probed: a trunk known to be down is tried last. */
  status: 'up' | 'down' | 'unknown';
  /** How the trunk wants numbers written (default e164_plus: as stored). */
  numberFormat?: NumberFormat;
  inbandDtmf?: TrunkInbandDtmf;
  /** Its SRTP policy (default optional). */
  srtp?: SrtpPolicy;
}

/** The trunks a company may use, in the order to try them (priority, then name). */
export interface TrunkLookup {
  outbound(companyId: number | undefined): OutboundTrunk[];
}

/**
 * Parses `sip:HOST[:PORT][;transport=udp|tcp|tls]` or `sips:HOST[:PORT]`. Only
 * IP literals: we never resolve names at call time. A sips: URI is TLS whatever
 * its transport parameter says (RFC 5630 §3.1.3: sips means TLS on every hop
 * we control; never UDP or plain TCP).
 */
export function parseTrunk(value: string | undefined): TrunkConfig | undefined {
  if (!value) return undefined;
  const uri = parseUri(value);
  if (!uri) throw new Error(`invalid trunk ${value}`);
  const tp = uri.params.get('transport')?.toLowerCase();
  const transport = uri.scheme === 'sips' || tp === 'tls' ? 'tls' : tp === 'tcp' ? 'tcp' : 'udp';
  return { host: uri.host, port: uri.port ?? (transport === 'tls' ? 5061 : 5060), transport };
}

/**
 * Turns a contact (E.164 number, short digits, or `sip:user`) into where to
 * send the INVITE (SPEC §2): phone numbers go to the company's trunks, in
 * failover order; SIP users to the contact they registered, over the flow
 * they registered from.
 */
export class ContactResolver {
  constructor(
    private readonly trunks: TrunkLookup,
    private readonly registrar: BindingLookup | undefined,
    /** The SRTP policy of a SIP account's phone (default optional). */
    private readonly srtpOf: (user: string) => SrtpPolicy | undefined = () => undefined,
    private readonly flowOpen: FlowCheck = () => true,
  ) {}

  /**
   * Every way to reach the contact, best first; empty when there is none.
   * `country` is the company's: what a trunk's `national` format means.
   */
  resolve(contact: string, companyId?: number, country: Country = 'RU'): DialTarget[] {
    if (/^sips?:/i.test(contact)) {
      const uri = parseUri(contact);
      const user = uri?.user ?? uri?.host;
      if (!user) return [];
      const binding = this.registrar?.lookup(user)[0];
      if (!binding) return [];
      return [
        {
          uri: binding.contact,
          destination: bindingDestination(binding, this.flowOpen),
          srtp: this.srtpOf(user) ?? 'optional',
        },
      ];
    }
    const number = contact.replace(/[\s()-]/g, '');
    if (!/^\+?\d{2,20}$/.test(number)) return [];
    const targets: DialTarget[] = [];
    for (const t of this.trunks.outbound(companyId)) {
      const host = t.host.includes(':') ? `[${t.host}]` : t.host;
      const format = t.numberFormat ?? 'e164_plus';
      const uri = parseUri(`sip:${formatNumber(number, format, country)}@${host}:${t.port}`);
      if (!uri) continue;
      targets.push({
        uri,
        destination: { transport: t.transport, address: t.host, port: t.port },
        trunk: t.name,
        auth: t.auth,
        formatNumber: (n) => formatNumber(n, format, country),
        inbandDtmf: t.inbandDtmf,
        srtp: t.srtp ?? 'optional',
      });
    }
    return targets;
  }
}

/**
 * Where to send a request for a registered phone. Over UDP, and over TCP/TLS
 * while the connection it registered on is open, that flow (§18.2.2, RFC 5626:
 * a phone behind NAT cannot take new connections). When that connection is
 * gone (our restart, a reset), a new one of the same transport to the address
 * its Contact names — a TLS binding is never reached any other way than TLS.
 */
export function bindingDestination(binding: Binding, flowOpen: FlowCheck): Endpoint {
  const { source, contact } = binding;
  if (source.transport === 'udp' || flowOpen(source)) return source;
  const port = contact.port ?? (source.transport === 'tls' || contact.scheme === 'sips' ? 5061 : 5060);
  const address = contact.host.replace(/^\[|\]$/g, '');
  return { transport: source.transport, address, port };
}
