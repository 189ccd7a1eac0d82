/**
 * Trunks against a carrier stand-in no one here wrote: Kamailio (Debian
 * `kamailio`, config in test/fixtures/kamailio) on 127.0.0.2 challenges
 * AgentLine's REGISTER with 401 and its INVITEs to mobiles with 407, relays
 * customer calls to AgentLine's hotline and AgentLine's authenticated INVITEs
 * to the agent's "mobile" (a test phone) behind it. Loopback callers are NOT
 * allowed here: the customer's call is accepted because it comes from the
 * registered trunk's address. Also: failover from a sipp trunk answering 503,
 * and 403 for a hotline call from an address that is no trunk.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/config.ts';
import { Server } from '../../src/server.ts';
import { FAST_IVR, api, eventually, phone } from '../integration/harness.ts';
import { SERVER_RTP, blocks } from '../integration/ports.ts';
import { CONTACT, makeReady, stateOf } from '../integration/acd-helpers.ts';
import type { TestPhone } from '../phone/phone.ts';
import { getHeader } from '../../src/sip/message/headers.ts';
import {
  CLEAN_EXIT,
  finishSuite,
  freePortBlock,
  killAll,
  requireTool,
  sleep,
  spawnTool,
  startSipp,
  tempDir,
  waitUdpBound,
  type ToolProcess,
} from './tools.ts';

const KAM_FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'kamailio');
const SALES = '+74950000001';
const CARRIER = '127.0.0.2';
const PASSWORD = 'trunk-pass-42';
// Its own RTP block, apart from the harness's (which counts from the start of SERVER_RTP).
const nextRtp = blocks({ min: SERVER_RTP.max - 1999, max: SERVER_RTP.max }, 1000);

interface Logged {
  server: Server;
  lines: () => Record<string, unknown>[];
}

async function startLoggedServer(o: { allowLoopbackCallers: boolean; trunk?: string }): Promise<Logged> {
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      raw.push(chunk.toString('utf8'));
      cb();
    },
  });
  const base = nextRtp();
  const config = configSchema.parse({
    sipHost: '127.0.0.1',
    sipPort: 0,
    httpPort: 0,
    rtpPorts: `${base}-${base + 999}`,
    db: ':memory:',
    adminToken: 'test-token-123',
    demo: true,
    // Kamailio and the test's phones all send from loopback.
    inviteRate: 1000,
    inviteBurst: 1000,
    allowLoopbackCallers: String(o.allowLoopbackCallers),
    ...(o.trunk ? { trunk: o.trunk } : {}),
  });
  const server = new Server(config, {
    logger: pino({ level: 'info' }, sink),
    sipTimers: { t1: 100, t2: 400, t4: 500 },
    ivrTimings: FAST_IVR,
    trunkTimings: { registration: { expiresS: 600, retryMs: 500, maxRetryMs: 2000 } },
  });
  await server.start();
  // The "mobiles" here do not press the accept key (test/interop/sipp-voicemail.test.ts covers it).
  for (const c of await server.store.directory.listCompanies())
    await server.store.directory.updateCompanySettings(c.id, { acceptCall: 'off' });
  return {
    server,
    lines: () =>
      raw
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

interface TrunkJson {
  registration: { state: string; expiresS?: number };
  status: string;
}

describe('Kamailio as the carrier', () => {
  let kamailio: string;
  let sipp: string;
  let logged: Logged | undefined;
  let kam: ToolProcess | undefined;
  const phones: TestPhone[] = [];

  beforeAll(() => {
    kamailio = requireTool('kamailio', 'kamailio');
    sipp = requireTool('sipp', 'sip-tester');
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail')
      console.log(
        `--- kamailio ---\n${kam?.stdout ?? ''}${kam?.stderr ?? ''}\n--- agentline ---\n${JSON.stringify(logged?.lines() ?? [], null, 0)}`,
      );
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await logged?.server.stop();
    logged = undefined;
    await killAll();
    kam = undefined;
  });

  afterAll(finishSuite);

  async function startKamailio(agentlinePort: number, mobilePort: number): Promise<number> {
    const port = await freePortBlock(2);
    const dir = tempDir('kamailio');
    for (const f of ['version', 'subscriber']) copyFileSync(path.join(KAM_FIXTURES, f), path.join(dir, f));
    const cfg = readFileSync(path.join(KAM_FIXTURES, 'kamailio.cfg'), 'utf8')
      .replaceAll('@KAM_PORT@', String(port))
      .replaceAll('@AGENTLINE_PORT@', String(agentlinePort))
      .replaceAll('@MOBILE_PORT@', String(mobilePort))
      .replaceAll('@DB_DIR@', dir);
    writeFileSync(path.join(dir, 'kamailio.cfg'), cfg);
    kam = spawnTool(
      kamailio,
      ['-f', path.join(dir, 'kamailio.cfg'), '-DD', '-E', '-P', path.join(dir, 'kamailio.pid'), '-w', dir],
      { cwd: dir, timeoutMs: 60_000, name: 'kamailio' },
    );
    const k = kam;
    await eventually(
      () => (k.stdout + k.stderr).includes('Listening on') || !k.alive,
      10_000,
      'kamailio listening',
    );
    if (!k.alive) throw new Error(`kamailio exited:\n${k.stdout}\n${k.stderr}`);
    await sleep(300); // children up
    return port;
  }

  const carrierTrunk = (port: number, password: string): Record<string, unknown> => ({
    name: 'carrier',
    uri: `sip:${CARRIER}:${port}`,
    username: 'agentline',
    password,
    realm: 'carrier.test',
    register: true,
    priority: 1,
  });

  it('registers (401) and refreshes; a customer call from Kamailio reaches the agent mobile with an authenticated INVITE (407)', async () => {
    logged = await startLoggedServer({ allowLoopbackCallers: false });
    const { server } = logged;
    const mobile = await phone({ number: 'mobile' });
    phones.push(mobile);
    const port = await startKamailio(server.sipPort, mobile.sipPort);
    const created = await api(server, '/api/v1/trunks', {
      method: 'POST',
      body: JSON.stringify(carrierTrunk(port, PASSWORD)),
    });
    expect(created.status).toBe(201);
    const trunkState = async (): Promise<TrunkJson> =>
      (await api<TrunkJson>(server, '/api/v1/trunks/carrier')).body;
    await eventually(
      async () => (await trunkState()).registration.state === 'registered',
      8000,
      'registered',
    );
    expect((await trunkState()).registration.expiresS).toBe(4);
    // Kamailio grants 4 s: AgentLine refreshes (two successful REGISTERs within ~3 s).
    await eventually(
      () => (kam?.stderr.match(/REGISTER ok user=agentline/g) ?? []).length >= 2,
      6000,
      'a refresh',
    );
    expect(kam?.stderr).toContain('REGISTER challenged user=agentline');
    expect(logged.lines().some((l) => l.msg === 'trunk registered' && l.trunk === 'carrier')).toBe(true);
    const metrics = await fetch(`http://127.0.0.1:${server.httpPort}/metrics`).then((r) => r.text());
    expect(metrics).toContain('agentline_trunk_registered{trunk="carrier"} 1');

    await makeReady(server, '1001');
    const customer = await phone({ number: '+79161234567' });
    phones.push(customer);
    const custCall = await customer.call(SALES, { port, host: CARRIER });
    const invite = await mobile.nextIncoming(10_000, CONTACT['1001']);
    // Kamailio relayed it only after our Proxy-Authorization checked out (and consumed it).
    expect(kam?.stderr).toMatch(/INVITE challenged to=\+79000000001/);
    expect(kam?.stderr).toMatch(/INVITE authenticated to=\+79000000001 from=\+79161234567/);
    // Caller id policy: the customer in From, the hotline in P-Asserted-Identity and Diversion.
    expect(invite.caller.user).toBe('+79161234567');
    expect(getHeader(invite.request, 'P-Asserted-Identity')).toMatch(/^<sip:\+74950000001@/);
    expect(getHeader(invite.request, 'Diversion')).toMatch(/^<sip:\+74950000001@.*;reason=unconditional/);
    const agentCall = await mobile.answer(invite);
    await eventually(
      () => server.acd.liveCalls.some((c) => c.state === 'connected' && c.inCall !== undefined),
      8000,
      'customer and agent connected',
    );
    // Not yet: an external transfer through Kamailio (the transfer INVITE did not reach the mobile
    // in a first try; see the issue 9 report).
    await custCall.hangup();
    await agentCall.ended;
    expect(JSON.stringify(logged.lines())).not.toContain(PASSWORD);
  }, 60_000);

  it('a wrong password: registration failed and the call attempt fails with warn lines; the agent is not blamed', async () => {
    logged = await startLoggedServer({ allowLoopbackCallers: false });
    const { server } = logged;
    const mobile = await phone({ number: 'mobile' });
    phones.push(mobile);
    const port = await startKamailio(server.sipPort, mobile.sipPort);
    await api(server, '/api/v1/trunks', {
      method: 'POST',
      body: JSON.stringify(carrierTrunk(port, 'not-the-password')),
    });
    await eventually(
      async () =>
        (await api<TrunkJson>(server, '/api/v1/trunks/carrier')).body.registration.state === 'failed',
      8000,
      'registration failed',
    );
    expect(
      logged
        .lines()
        .some((l) => l.level === 40 && l.msg === 'trunk registration failed' && l.trunk === 'carrier'),
    ).toBe(true);
    await makeReady(server, '1001');
    const customer = await phone({ number: '+79161234567' });
    phones.push(customer);
    await customer.call(SALES, { port, host: CARRIER });
    await eventually(
      () => logged!.lines().some((l) => l.msg === 'outbound attempt failed' && l.outcome === 'auth_failed'),
      10_000,
      'the failed attempt',
    );
    const lines = logged.lines();
    expect(
      lines.some((l) => l.level === 40 && l.msg === 'trunk authentication failed' && l.method === 'INVITE'),
    ).toBe(true);
    expect(lines.find((l) => l.msg === 'outbound attempt failed')).toMatchObject({
      level: 40,
      trunk: 'carrier',
      status: 407,
    });
    // Not the agent's fault: ready, not temporarily_not_ready.
    await sleep(200);
    expect(await stateOf(server, '1001')).toBe('ready');
    expect(JSON.stringify(lines)).not.toContain('not-the-password');
  }, 60_000);

  it('failover: the first trunk answers 503 (sipp), the second carries the call', async () => {
    logged = await startLoggedServer({ allowLoopbackCallers: true });
    const { server } = logged;
    const second = await phone({ number: 'trunk-b' });
    phones.push(second);
    const uas = startSipp(sipp, {
      scenario: 'uas-503.xml',
      cwd: tempDir('sipp-503'),
      portBase: await freePortBlock(8),
      name: 'trunk-503',
      timeoutS: 20,
    });
    await waitUdpBound(uas.sipPort, 5000, uas.proc);
    for (const [name, p, priority] of [
      ['first', uas.sipPort, 1],
      ['second', second.sipPort, 2],
    ] as const) {
      const r = await api(server, '/api/v1/trunks', {
        method: 'POST',
        body: JSON.stringify({ name, uri: `sip:127.0.0.1:${p}`, priority, qualifySeconds: 0 }),
      });
      expect(r.status).toBe(201);
    }
    await makeReady(server, '1001');
    const customer = await phone({ number: '+79161234567' });
    phones.push(customer);
    const custCall = await customer.call(SALES, { port: server.sipPort });
    const invite = await second.nextIncoming(10_000, CONTACT['1001']);
    const agentCall = await second.answer(invite);
    expect(await uas.finish(10_000), uas.report()).toEqual(CLEAN_EXIT);
    expect(logged.lines().find((l) => l.msg === 'outbound attempt failed')).toMatchObject({
      trunk: 'first',
      status: 503,
    });
    await eventually(() => server.acd.liveCalls.some((c) => c.state === 'connected'), 8000, 'connected');
    await custCall.hangup();
    await agentCall.ended;
    expect(await stateOf(server, '1001')).not.toBe('temporarily_not_ready');
  }, 60_000);

  it('a hotline call from an address that is no trunk gets 403 and a warn line (loopback callers not allowed)', async () => {
    logged = await startLoggedServer({ allowLoopbackCallers: false });
    const { server } = logged;
    const stranger = await phone({ number: '+79161234567' });
    phones.push(stranger);
    await expect(stranger.call(SALES, { port: server.sipPort })).rejects.toMatchObject({ status: 403 });
    expect(
      logged
        .lines()
        .some((l) => l.level === 40 && String(l.msg).includes('no trunk') && l.source === '127.0.0.1'),
    ).toBe(true);
  }, 30_000);
});
