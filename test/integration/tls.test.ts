/**
 * SIP over TLS (issue 9 and 10): trunks with a `sips:` URI or `;transport=tls`
 * are reached over TLS, verified against --tls-ca; a TLS target that cannot be
 * reached over TLS (a certificate that does not verify, a plain TCP port) fails
 * the attempt with a warn line naming the trunk and the TLS error, and failover
 * proceeds as for a 503 — never UDP. The TLS peers are our test phones with a
 * TLS listener (certificates in test/fixtures/tls).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { getHeader } from '../../src/sip/message/headers.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { CONTACT, SALES, makeReady, stateOf } from './acd-helpers.ts';
import { api, eventually, memoryLog, phone, startServer } from './harness.ts';

export const TLS_FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'tls',
);
const pem = (f: string): Buffer => readFileSync(path.join(TLS_FIXTURES, f));
const GOOD = { cert: pem('server.crt'), key: pem('server.key') };
const ROGUE = { cert: pem('rogue.crt'), key: pem('rogue.key') };

interface Logged {
  server: Server;
  lines: () => Record<string, unknown>[];
}

async function startTlsServer(): Promise<Logged> {
  const log = memoryLog();
  const server = await startServer({
    logger: log.logger,
    tlsCert: path.join(TLS_FIXTURES, 'server.crt'),
    tlsKey: path.join(TLS_FIXTURES, 'server.key'),
    tlsCa: path.join(TLS_FIXTURES, 'ca.crt'),
    tlsPort: 0,
  });
  return { server, lines: log.lines };
}

describe('SIP over TLS: trunks', () => {
  const phones: TestPhone[] = [];
  let logged: Logged | undefined;

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(JSON.stringify(logged?.lines() ?? []));
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await logged?.server.stop();
    logged = undefined;
  });

  const newPhone = async (o: Parameters<typeof phone>[0]): Promise<TestPhone> => {
    const p = await phone(o);
    phones.push(p);
    return p;
  };

  const addTrunk = async (server: Server, name: string, uri: string, priority: number): Promise<void> => {
    const r = await api(server, '/api/v1/trunks', {
      method: 'POST',
      body: JSON.stringify({ name, uri, priority, qualifySeconds: 0 }),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  };

  it('the server listens on its TLS port with the configured certificate', async () => {
    logged = await startTlsServer();
    expect(logged.server.tlsPort).toBeGreaterThan(0);
    expect(logged.lines().find((l) => l.msg === 'SIP over TLS listening')).toBeDefined();
  });

  it('a sips: trunk is reached over TLS (Via SIP/2.0/TLS, Contact ;transport=tls) and both sides hear each other', async () => {
    logged = await startTlsServer();
    const { server } = logged;
    const carrier = await newPhone({ number: 'carrier', tls: { ...GOOD } });
    await addTrunk(server, 'secure', `sips:127.0.0.1:${carrier.tlsPort}`, 1);
    await makeReady(server, '1001');
    const customer = await newPhone({ number: '+79161234567' });
    const custCall = await customer.call(SALES, { port: server.sipPort });
    const invite = await carrier.nextIncoming(10_000, CONTACT['1001']);
    expect(invite.source.transport).toBe('tls');
    expect(getHeader(invite.request, 'via')).toMatch(/^SIP\/2\.0\/TLS /);
    expect(getHeader(invite.request, 'contact')).toMatch(/;transport=tls/);
    const agentCall = await carrier.answer(invite);
    await eventually(() => server.acd.liveCalls.some((c) => c.state === 'connected'), 8000, 'connected');
    custCall.send(new SineSource(1100, 8000));
    agentCall.send(new SineSource(700, 8000));
    await agentCall.waitForTone(1100, 5000, 200);
    await custCall.waitForTone(700, 5000, 200);
    await custCall.hangup();
    await agentCall.ended;
  }, 30_000);

  for (const [what, target] of [
    ['its certificate does not verify (self-signed)', 'rogue'],
    ['it is a plain TCP port', 'plain'],
  ] as const)
    it(`a sips: trunk whose TLS fails (${what}): warn line naming trunk and TLS error, failover as for a 503, never UDP`, async () => {
      logged = await startTlsServer();
      const { server } = logged;
      // The bad target also listens on UDP and TCP at its SIP port: anything sent there without TLS shows.
      const bad = await newPhone({ number: 'bad', ...(target === 'rogue' ? { tls: { ...ROGUE } } : {}) });
      const badPort = target === 'rogue' ? bad.tlsPort : bad.sipPort;
      const second = await newPhone({ number: 'trunk-b' });
      await addTrunk(server, 'first', `sips:127.0.0.1:${badPort}`, 1);
      await addTrunk(server, 'second', `sip:127.0.0.1:${second.sipPort}`, 2);
      await makeReady(server, '1001');
      const customer = await newPhone({ number: '+79161234567' });
      const custCall = await customer.call(SALES, { port: server.sipPort });
      const invite = await second.nextIncoming(10_000, CONTACT['1001']);
      const agentCall = await second.answer(invite);
      const failed = logged.lines().find((l) => l.msg === 'outbound attempt failed');
      expect(failed).toMatchObject({ level: 40, trunk: 'first', status: 503 });
      expect(String(failed?.reason)).toMatch(
        target === 'rogue' ? /Transport error: .*certificate/i : /Transport error: .*TLS handshake/,
      );
      // The transport says which peer and why, too (also for REGISTER/OPTIONS to such a trunk).
      expect(logged.lines().find((l) => String(l.msg).startsWith('TLS connection failed'))).toMatchObject({
        level: 40,
        peer: `127.0.0.1:${badPort}`,
      });
      await eventually(() => server.acd.liveCalls.some((c) => c.state === 'connected'), 8000, 'connected');
      await custCall.hangup();
      await agentCall.ended;
      // The TLS failure is ours or the trunk's, not the agent's.
      expect(await stateOf(server, '1001')).not.toBe('temporarily_not_ready');
      // Nothing reached the bad target as SIP: no silent fallback to UDP or plain TCP.
      expect(bad.stack.counters.received).toBe(0);
    }, 30_000);

  it('--trunk sips:… makes a TLS trunk, not a UDP one', async () => {
    const s = await startServer({ trunk: 'sips:127.0.0.1:5999' });
    try {
      const r = await api(s, '/api/v1/trunks/default');
      expect((r.body as { uri: string }).uri).toBe('sip:127.0.0.1:5999;transport=tls');
      expect(s.trunks.outbound(undefined)[0]?.transport).toBe('tls');
    } finally {
      await s.stop();
    }
  });
});
