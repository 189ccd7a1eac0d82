import { parseUri } from '../sip/message/uri.ts';
import type { Endpoint } from '../sip/transport/transport.ts';
import type { DialTarget } from '../call/engine.ts';

/** A registered SIP contact: where the phone said it is, and where it really sent from. */
export interface Binding {
  contact: import('../sip/message/types.ts').SipUri;
  source: Endpoint;
}

export interface BindingLookup {
  lookup(user: string): Binding[];
}

export interface TrunkConfig {
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
}

/** Parses `--trunk sip:HOST[:PORT][;transport=tcp]`. Only IP literals: we never resolve names from config at call time. */
export function parseTrunk(value: string | undefined): TrunkConfig | undefined {
  if (!value) return undefined;
  const uri = parseUri(value);
  if (!uri) throw new Error(`invalid trunk ${value}`);
  const tp = uri.params.get('transport')?.toLowerCase();
  return { host: uri.host, port: uri.port ?? 5060, transport: tp === 'tcp' ? 'tcp' : 'udp' };
}

/**
 * Turns a contact (E.164 number, short digits, or `sip:user`) into where to
 * send the INVITE (SPEC §2): phone numbers go to the trunk; SIP users to the
 * contact they registered, over the flow they registered from.
 */
export class ContactResolver {
  constructor(
    private readonly trunk: TrunkConfig | undefined,
    private readonly registrar: BindingLookup | undefined,
  ) {}

  resolve(contact: string): DialTarget | undefined {
    if (/^sips?:/i.test(contact)) {
      const uri = parseUri(contact);
      const user = uri?.user ?? uri?.host;
      if (!user) return undefined;
      const binding = this.registrar?.lookup(user)[0];
      if (!binding) return undefined;
      return { uri: binding.contact, destination: binding.source };
    }
    const number = contact.replace(/[\s()-]/g, '');
    if (!/^\+?\d{2,20}$/.test(number) || !this.trunk) return undefined;
    const uri = parseUri(
      `sip:${number}@${this.trunk.host.includes(':') ? `[${this.trunk.host}]` : this.trunk.host}:${this.trunk.port}`,
    );
    if (!uri) return undefined;
    return {
      uri,
      destination: { transport: this.trunk.transport, address: this.trunk.host, port: this.trunk.port },
    };
  }
}
