import { describe, expect, it } from 'vitest';
import type { NetworkInterfaceInfo } from 'node:os';
import { AddressPolicy, chooseAdvertised, firstNonLoopbackIPv4, inCidr, parseCidr } from './advertise.ts';

const iface = (address: string, internal: boolean, family: 'IPv4' | 'IPv6' = 'IPv4'): NetworkInterfaceInfo =>
  ({
    address,
    internal,
    family,
    netmask: '255.255.255.0',
    mac: '00:00:00:00:00:00',
    cidr: null,
  }) as NetworkInterfaceInfo;

const LAN = {
  lo: [iface('127.0.0.1', true)],
  eth0: [iface('fe80::1', false, 'IPv6'), iface('192.168.1.20', false)],
};

describe('chooseAdvertised', () => {
  it('--advertise wins, and a specific listen address is itself', async () => {
    expect(await chooseAdvertised({ listen: '0.0.0.0', advertise: '203.0.113.5', interfaces: LAN })).toEqual({
      host: '203.0.113.5',
      how: 'flag',
    });
    expect(await chooseAdvertised({ listen: '10.1.1.1', interfaces: LAN })).toEqual({
      host: '10.1.1.1',
      how: 'listen',
    });
  });

  it('on 0.0.0.0 takes the first non-loopback IPv4, else loopback', async () => {
    expect(await chooseAdvertised({ listen: '0.0.0.0', interfaces: LAN })).toEqual({
      host: '192.168.1.20',
      how: 'interface',
    });
    expect(await chooseAdvertised({ listen: '0.0.0.0', interfaces: { lo: LAN.lo } })).toEqual({
      host: '127.0.0.1',
      how: 'loopback',
    });
    expect(firstNonLoopbackIPv4({ lo: LAN.lo })).toBeUndefined();
  });

  it('a peer on loopback routes through loopback: the interface list decides', async () => {
    expect(await chooseAdvertised({ listen: '0.0.0.0', peer: '127.0.0.1', interfaces: LAN })).toEqual({
      host: '192.168.1.20',
      how: 'interface',
    });
  });
});

describe('--local-nets', () => {
  it('parses A.B.C.D/N (a bare address is /32) and refuses anything else', () => {
    expect(parseCidr('192.168.0.0/16')).toMatchObject({ text: '192.168.0.0/16' });
    expect(parseCidr('10.1.2.3')).toMatchObject({ text: '10.1.2.3/32' });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ mask: 0 });
    for (const bad of [
      '10.0.0.0/33',
      '10.0.0/8',
      '300.0.0.0/8',
      'lan',
      '10.0.0.0/8/1',
      '::1/128',
      '10.0.0.0/',
    ])
      expect(parseCidr(bad)).toBeUndefined();
  });

  it('matches addresses inside the network (host bits ignored), IPv4-mapped IPv6 too', () => {
    const net = parseCidr('192.168.1.77/24')!;
    expect(inCidr('192.168.1.5', net)).toBe(true);
    expect(inCidr('::ffff:192.168.1.5', net)).toBe(true);
    expect(inCidr('192.168.2.5', net)).toBe(false);
    expect(inCidr('fe80::1', net)).toBe(false);
    expect(inCidr('1.2.3.4', parseCidr('0.0.0.0/0')!)).toBe(true);
  });

  it('a peer in a local net sees the local address; others and unknown peers the advertised one', () => {
    const p = new AddressPolicy('203.0.113.7', '192.168.1.20', [
      parseCidr('192.168.0.0/16')!,
      parseCidr('10.0.0.0/8')!,
    ]);
    expect(p.hostFor('192.168.5.9')).toBe('192.168.1.20');
    expect(p.hostFor('10.9.9.9')).toBe('192.168.1.20');
    expect(p.hostFor('198.51.100.1')).toBe('203.0.113.7');
    expect(p.hostFor(undefined)).toBe('203.0.113.7');
    expect(new AddressPolicy('203.0.113.7', '192.168.1.20').hostFor('192.168.5.9')).toBe('203.0.113.7');
  });
});
