import { describe, expect, it } from 'vitest';
import { parseUri } from '../sip/message/uri.ts';
import type { Endpoint } from '../sip/transport/transport.ts';
import { bindingDestination, parseTrunk, type Binding } from './contact-resolver.ts';

describe('parseTrunk', () => {
  it('sips: is TLS (RFC 5630), on 5061 unless a port is given; never UDP', () => {
    expect(parseTrunk('sips:10.0.0.1')).toEqual({ host: '10.0.0.1', port: 5061, transport: 'tls' });
    expect(parseTrunk('sips:10.0.0.1:5071')?.transport).toBe('tls');
    expect(parseTrunk('sip:10.0.0.1;transport=tls')).toEqual({
      host: '10.0.0.1',
      port: 5061,
      transport: 'tls',
    });
    expect(parseTrunk('sip:10.0.0.1;transport=tcp')?.transport).toBe('tcp');
    expect(parseTrunk('sip:10.0.0.1')).toEqual({ host: '10.0.0.1', port: 5060, transport: 'udp' });
  });
});

describe('bindingDestination', () => {
  const binding = (transport: Endpoint['transport'], contact: string): Binding => ({
    contact: parseUri(contact)!,
    source: { transport, address: '192.0.2.7', port: 40123 },
  });

  it('UDP: always where the REGISTER came from (NAT)', () => {
    const b = binding('udp', 'sip:u@10.1.1.1:5060');
    expect(bindingDestination(b, () => false)).toEqual(b.source);
  });

  it('TLS/TCP with the registration connection open: that connection', () => {
    const b = binding('tls', 'sip:u@10.1.1.1:5061;transport=tls');
    expect(bindingDestination(b, () => true)).toEqual(b.source);
  });

  it('TLS with the connection gone: a new TLS connection to the Contact, never another transport', () => {
    expect(bindingDestination(binding('tls', 'sip:u@10.1.1.1:5071;transport=tls'), () => false)).toEqual({
      transport: 'tls',
      address: '10.1.1.1',
      port: 5071,
    });
    expect(bindingDestination(binding('tls', 'sips:u@10.1.1.1'), () => false)).toEqual({
      transport: 'tls',
      address: '10.1.1.1',
      port: 5061,
    });
    expect(bindingDestination(binding('tcp', 'sip:u@[2001:db8::1];transport=tcp'), () => false)).toEqual({
      transport: 'tcp',
      address: '2001:db8::1',
      port: 5060,
    });
  });
});
