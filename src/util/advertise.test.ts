import { describe, expect, it } from 'vitest';
import type { NetworkInterfaceInfo } from 'node:os';
import { chooseAdvertised, firstNonLoopbackIPv4 } from './advertise.ts';

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
