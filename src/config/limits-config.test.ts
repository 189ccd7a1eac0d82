import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('resource limit flags', () => {
  it('have production defaults', () => {
    expect(loadConfig([], {})).toMatchObject({
      tcpMaxConnections: 1000,
      tcpMaxPerSource: 20,
      tcpIdleSeconds: 120,
      inviteRate: 10,
      inviteBurst: 20,
      trustedInviteRate: 100,
      maxCalls: 0,
    });
  });

  it('come from flags and AGENTLINE_* variables, flags first', () => {
    const c = loadConfig(['--tcp-max-connections', '5000', '--invite-rate', '0'], {
      AGENTLINE_TCP_MAX_CONNECTIONS: '7',
      AGENTLINE_TCP_MAX_PER_SOURCE: '50',
      AGENTLINE_TCP_IDLE_SECONDS: '30',
      AGENTLINE_MAX_CALLS: '200',
    });
    expect(c).toMatchObject({
      tcpMaxConnections: 5000,
      tcpMaxPerSource: 50,
      tcpIdleSeconds: 30,
      inviteRate: 0,
      maxCalls: 200,
    });
  });

  it('refuse nonsense', () => {
    expect(() => loadConfig(['--tcp-max-per-source', '-1'], {})).toThrow(/--tcp-max-per-source/);
    expect(() => loadConfig(['--invite-burst', '0'], {})).toThrow(/--invite-burst/);
  });
});
