import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { anonymous, call, useServer } from './helpers.ts';

interface TrunkJson {
  name: string;
  uri: string;
  username: string | null;
  hasPassword: boolean;
  priority: number;
  registration: { state: string };
  status: string;
  [k: string]: unknown;
}

describe('trunks API', () => {
  let server: Server;
  useServer((s) => (server = s));

  it('401 without a token', async () => {
    expect((await anonymous(server, 'GET', '/api/v1/trunks')).status).toBe(401);
  });

  it('creates, reads, changes and deletes a trunk; the password is never returned', async () => {
    const created = await call<TrunkJson>(server, 'POST', '/api/v1/trunks', {
      name: 'carrier-a',
      uri: 'sip:127.0.0.1:5999;transport=tcp',
      username: 'acme',
      password: 'very-secret-pw',
      realm: 'carrier.example',
      priority: 10,
      inbound: ['192.0.2.0/24', '198.51.100.7'],
      companies: [1],
      qualifySeconds: 0,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'carrier-a',
      uri: 'sip:127.0.0.1:5999;transport=tcp',
      username: 'acme',
      hasPassword: true,
      priority: 10,
      registration: { state: 'off' },
      status: 'unknown',
    });
    const one = await call<TrunkJson>(server, 'GET', '/api/v1/trunks/carrier-a');
    const list = await call<{ trunks: TrunkJson[] }>(server, 'GET', '/api/v1/trunks');
    for (const body of [JSON.stringify(created.body), JSON.stringify(one.body), JSON.stringify(list.body)]) {
      expect(body).not.toContain('very-secret-pw');
      expect(body).not.toContain('"password"');
    }
    expect(list.body.trunks.map((t) => t.name)).toContain('carrier-a');
    // Routing sees it for company 1 only.
    expect(server.trunks.outbound(1).map((t) => t.name)).toContain('carrier-a');
    expect(server.trunks.outbound(2).map((t) => t.name)).not.toContain('carrier-a');
    expect(server.trunks.trunkForSource('192.0.2.55')?.name).toBe('carrier-a');
    expect(server.trunks.trunkForSource('203.0.113.1')).toBeUndefined();

    const patched = await call<TrunkJson>(server, 'PATCH', '/api/v1/trunks/carrier-a', { priority: 5 });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ priority: 5, hasPassword: true, srtp: 'optional' });
    // SRTP policy: routing carries it to the dial targets.
    const srtp = await call<TrunkJson>(server, 'PATCH', '/api/v1/trunks/carrier-a', { srtp: 'mandatory' });
    expect(srtp.body).toMatchObject({ srtp: 'mandatory' });
    expect(server.trunks.outbound(1).find((t) => t.name === 'carrier-a')?.srtp).toBe('mandatory');
    expect((await call(server, 'PATCH', '/api/v1/trunks/carrier-a', { srtp: 'yes' })).status).toBe(400);
    expect((await call(server, 'DELETE', '/api/v1/trunks/carrier-a')).status).toBe(204);
    expect((await call(server, 'GET', '/api/v1/trunks/carrier-a')).status).toBe(404);
  });

  it('400 for a bad uri, a bad CIDR, register without credentials, an unknown company; 409 for a taken name', async () => {
    const post = (body: unknown): Promise<{ status: number }> => call(server, 'POST', '/api/v1/trunks', body);
    expect((await post({ name: 'x', uri: 'sip:carrier.example.com' })).status).toBe(400);
    expect((await post({ name: 'x', uri: 'sip:127.0.0.1', inbound: ['10.0.0.0/33'] })).status).toBe(400);
    expect((await post({ name: 'x', uri: 'sip:127.0.0.1', register: true })).status).toBe(400);
    expect((await post({ name: 'x', uri: 'sip:127.0.0.1', companies: [999] })).status).toBe(400);
    expect((await post({ name: 'dup', uri: 'sip:127.0.0.1', qualifySeconds: 0 })).status).toBe(201);
    expect((await post({ name: 'dup', uri: 'sip:127.0.0.1' })).status).toBe(409);
  });
});
