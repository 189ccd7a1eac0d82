import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { TestPhone } from '../phone/phone.ts';
import { eventually, phone, startServer } from './harness.ts';
import { agentId, deskHearsCustomer, loginById } from './acd-helpers.ts';

/**
 * SIP phones as agents (issue 10): a phone registered as a SIP account logs in
 * through the service number with the default `deliverTo: caller_id`, becomes
 * the session contact as `sip:user`, and its registration survives a restart.
 */
describe('SIP-phone agents', () => {
  const phones: TestPhone[] = [];
  const servers: Server[] = [];
  const newPhone = async (number: string): Promise<TestPhone> => {
    const p = await phone({ number });
    phones.push(p);
    return p;
  };
  const start = async (o: Parameters<typeof startServer>[0] = {}): Promise<Server> => {
    const s = await startServer(o);
    servers.push(s);
    return s;
  };

  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.close()));
    for (const s of servers.splice(0)) await s.stop();
  });

  /** agent1003's SIP account; the phone registers and logs in by login id and PIN. */
  async function registerAndLogin(server: Server, desk: TestPhone): Promise<void> {
    const id = await agentId(server, '1003');
    await server.store.directory.createSipAccount('agent1003', 'secret-1003', 'agentline', id);
    await server.loadSipCredentials();
    expect(await desk.register('agent1003', 'secret-1003', { port: server.sipPort })).toBe(200);
    const call = await loginById(server, desk, '1003');
    await call.hangup();
    await eventually(async () => (await server.agentStates.getState(id)).state === 'ready', 3000, 'ready');
  }

  /** A customer calls Support; the SIP phone rings, answers and hears the customer. */
  const customerReaches = async (server: Server, desk: TestPhone): Promise<void> =>
    deskHearsCustomer(server, desk, await newPhone('+79165550000'));

  it('a login call from a registered SIP user makes sip:user the session contact; customers reach that phone', async () => {
    const server = await start();
    const desk = await newPhone('agent1003');
    await registerAndLogin(server, desk);
    expect((await server.store.directory.getAgentByLogin('1003'))?.sessionContact).toBe('sip:agent1003');
    await customerReaches(server, desk);
  });

  it('registrations survive a restart on the same database file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agentline-sipphone-'));
    try {
      const db = path.join(dir, 'agentline.db');
      const first = await start({ db });
      const desk = await newPhone('agent1003');
      await registerAndLogin(first, desk);
      await first.stop();
      servers.splice(servers.indexOf(first), 1);

      const second = await start({ db });
      expect(second.registrar.lookup('agent1003')).toHaveLength(1);
      const id = await agentId(second, '1003');
      if ((await second.agentStates.getState(id)).state !== 'ready')
        await second.agentStates.transition(id, 'ready', { reason: 'test', source: 'api' });
      await customerReaches(second, desk);
    } finally {
      for (const s of servers.splice(0)) await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
