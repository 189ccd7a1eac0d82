import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('--local-nets', () => {
  it('none by default; a comma-separated list of IPv4 CIDRs from the flag or AGENTLINE_LOCAL_NETS', () => {
    expect(loadConfig([], {}).localNets).toEqual([]);
    const nets = loadConfig(['--local-nets', '192.168.0.0/16, 10.0.0.0/8'], {}).localNets;
    expect(nets.map((n) => n.text)).toEqual(['192.168.0.0/16', '10.0.0.0/8']);
    expect(loadConfig([], { AGENTLINE_LOCAL_NETS: '172.16.0.0/12' }).localNets.map((n) => n.text)).toEqual([
      '172.16.0.0/12',
    ]);
  });

  it('refuses anything that is not an IPv4 CIDR, naming it', () => {
    expect(() => loadConfig(['--local-nets', '192.168.0.0/16,lan'], {})).toThrow(/--local-nets: "lan"/);
    expect(() => loadConfig(['--local-nets', '10.0.0.0/40'], {})).toThrow(ConfigError);
  });
});
