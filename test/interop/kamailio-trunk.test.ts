/**
 * Trunks against a carrier stand-in no one here wrote: Kamailio (Debian
 * `kamailio`, config in test/fixtures/kamailio) on 127.0.0.2 challenges
 * AgentLine's REGISTER with 401 and its INVITEs to mobiles with 407, relays
 * customer calls to AgentLine's hotline and AgentLine's authenticated INVITEs
 * to the agent's "mobile" (a test phone) behind it. Loopback callers are NOT
 * allowed here: the customer's call is accepted because it comes from the
 * registered trunk's address. The agent then transfers the customer to an
 * external number (blind: release_on_answer; and consult) and that INVITE too
 * goes out through the carrier, 407-challenged and retried with credentials.
 * Also: failover from a sipp trunk answering 503, and 403 for a hotline call
 * from an address that is no trunk.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/config.ts';
import { Server } from '../../src/server.ts';
import { FAST_IVR, api, eventually, memoryLog, phone } from '../integration/harness.ts';
import { SERVER_RTP, blocks } from '../integration/ports.ts';
import {
  CONTACT,
  agentId,
  makeReady,
  stateOf,
  waitState,
  waitCdrOutcome,
} from '../integration/acd-helpers.ts';
import { ACCEPT_HZ, ERROR_HZ, VOICE, doesNotHear, hears } from '../integration/hearing.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import type { CompanySettings } from '../../src/store/store.ts';
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
const TARGET = '+79261234567';

// Its own RTP block, apart from the harness's (which counts from the start of SERVER_RTP).
const nextRtp = blocks({ min: SERVER_RTP.max - 1999, max: SERVER_RTP.max }, 1000);

interface Logged {
  server: Server;
  lines: () => Record<string, unknown>[];
}

async function startLoggedServer(o: { allowLoopbackCallers: boolean; trunk?: string }): Promise<Logged> {
  const log = memoryLog(process.env.AGENTLINE_TEST_DEBUG ? 'debug' : 'info');
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
    logger: log.logger,
    sipTimers: { t1: 100, t2: 400, t4: 500 },
    ivrTimings: FAST_IVR,
    trunkTimings: { registration: { expiresS: 600, retryMs: 500, maxRetryMs: 2000 } },
  });
  await server.start();
  // The "mobiles" here do not press the accept key (test/interop/sipp-voicemail.test.ts covers it).
  for (const c of await server.store.directory.listCompanies())
    await server.store.directory.updateCompanySettings(c.id, { acceptCall: 'off' });
  return { server, lines: log.lines };
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

  /**
   * Kamailio logged this line. Polled: its stderr comes through a pipe, which may be read
   * after the SIP message that follows the log line has already reached us.
   */
  async function kamSaid(re: RegExp): Promise<void> {
    await eventually(() => re.test(kam?.stderr ?? ''), 3000, `kamailio: ${re.source}`);
  }

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

  /** Agent 1001 ready; a customer calls the hotline through Kamailio (the carrier on `port`). */
  async function customerViaCarrier(server: Server, port: number): Promise<PhoneCall> {
    await makeReady(server, '1001');
    const customer = await phone({ number: '+79161234567' });
    phones.push(customer);
    return customer.call(SALES, { port, host: CARRIER });
  }

  /** The call's CDR closes as transferred (once), and nothing of it is left. */
  async function transferredAndReleased(server: Server): Promise<void> {
    await waitCdrOutcome(server, 'transferred', { what: 'CDR written' });
    expect((await server.store.calls.listCdr())[0]).toMatchObject({ outcome: 'transferred', transfers: 1 });
    await allReleased(server);
  }

  interface Connected {
    server: Server;
    mobile: TestPhone;
    port: number;
    invite: Awaited<ReturnType<TestPhone['nextIncoming']>>;
    custCall: PhoneCall;
    agentCall: PhoneCall;
  }

  /**
   * AgentLine registered at Kamailio; a customer calls the hotline through it and agent 1001's
   * mobile (behind Kamailio) answers; customer and agent hear each other.
   */
  async function throughCarrier(settings: Partial<CompanySettings> = {}): Promise<Connected> {
    logged = await startLoggedServer({ allowLoopbackCallers: false });
    const { server } = logged;
    if (Object.keys(settings).length) await server.store.directory.updateCompanySettings(1, settings);
    const mobile = await phone({ number: 'mobile' });
    phones.push(mobile);
    const port = await startKamailio(server.sipPort, mobile.sipPort);
    const created = await api(server, '/api/v1/trunks', {
      method: 'POST',
      body: JSON.stringify(carrierTrunk(port, PASSWORD)),
    });
    expect(created.status).toBe(201);
    await eventually(
      async () =>
        (await api<TrunkJson>(server, '/api/v1/trunks/carrier')).body.registration.state === 'registered',
      8000,
      'registered',
    );
    const custCall = await customerViaCarrier(server, port);
    const invite = await mobile.nextIncoming(10_000, CONTACT['1001']);
    const agentCall = await mobile.answer(invite);
    await eventually(
      () => server.acd.liveCalls.some((c) => c.state === 'connected' && c.inCall !== undefined),
      8000,
      'customer and agent connected',
    );
    // Media does not pass Kamailio (it relays SIP only): customer ↔ AgentLine ↔ mobile.
    custCall.send(new SineSource(VOICE.customer, 20_000));
    agentCall.send(new SineSource(VOICE.agent, 20_000));
    await hears(agentCall, VOICE.customer);
    await hears(custCall, VOICE.agent);
    return { server, mobile, port, invite, custCall, agentCall };
  }

  /** The agent keys * 1 TARGET #; the transfer INVITE comes to the mobile through Kamailio. */
  async function transferToTarget(c: Connected): Promise<Awaited<ReturnType<TestPhone['nextIncoming']>>> {
    c.agentCall.recorder.clear();
    c.agentCall.sendDtmf('*');
    await c.agentCall.waitForTone(ACCEPT_HZ, 3000, 60);
    // 1, then the number in national form (8…: normalised to +7926…, allowed by the demo
    // company's `+7*`), then #.
    c.agentCall.sendDtmf('189261234567#');
    const transfer = await c.mobile.nextIncoming(10_000, TARGET);
    // Kamailio challenged the transfer INVITE (407) and relayed it only once our retry checked out.
    await kamSaid(/INVITE challenged to=\+79261234567 cseq=1/);
    await kamSaid(/INVITE authenticated to=\+79261234567 from=\+79161234567 cseq=2/);
    expect(kam?.stderr).not.toMatch(/not routed/);
    // Caller id policy on transfers too: the customer in From, the hotline in Diversion.
    expect(transfer.caller.user).toBe('+79161234567');
    expect(getHeader(transfer.request, 'Diversion')).toMatch(/^<sip:\+74950000001@/);
    expect(getHeader(transfer.request, 'P-Asserted-Identity')).toMatch(/^<sip:\+74950000001@/);
    return transfer;
  }

  async function transferRecords(server: Server): Promise<Record<string, unknown>[]> {
    const cdr = (await server.store.calls.listCdr())[0];
    const events = cdr ? await server.store.calls.listQueueEvents(cdr.id) : [];
    return events
      .filter((e) => e.kind === 'transfer')
      .map((e) => JSON.parse(e.detail ?? '{}') as Record<string, unknown>);
  }

  /** Nothing left behind once both parties are gone. */
  async function allReleased(server: Server): Promise<void> {
    await eventually(() => server.engine.activeLegs === 0, 5000, 'legs released');
    await eventually(() => server.acd.liveCalls.length === 0, 5000, 'no live calls');
    await eventually(() => server.pool.free === server.pool.capacity, 5000, 'RTP ports back');
  }

  it('registers (401) and refreshes; a customer call from Kamailio reaches the agent mobile with an authenticated INVITE (407); a blind external transfer goes out authenticated too', async () => {
    const c = await throughCarrier();
    const { server, invite } = c;
    // Kamailio relayed it only after our Proxy-Authorization checked out (and consumed it).
    await kamSaid(/REGISTER challenged user=agentline/);
    await kamSaid(/INVITE challenged to=\+79000000001/);
    await kamSaid(/INVITE authenticated to=\+79000000001 from=\+79161234567/);
    // Caller id policy: the customer in From, the hotline in P-Asserted-Identity and Diversion.
    expect(invite.caller.user).toBe('+79161234567');
    expect(getHeader(invite.request, 'P-Asserted-Identity')).toMatch(/^<sip:\+74950000001@/);
    expect(getHeader(invite.request, 'Diversion')).toMatch(/^<sip:\+74950000001@.*;reason=unconditional/);
    const trunk = (await api<TrunkJson>(server, '/api/v1/trunks/carrier')).body;
    expect(trunk.registration.expiresS).toBe(4);
    // Kamailio grants 4 s: AgentLine refreshes (two successful REGISTERs within ~3 s).
    await eventually(
      () => (kam?.stderr.match(/REGISTER ok user=agentline/g) ?? []).length >= 2,
      6000,
      'a refresh',
    );
    expect(logged!.lines().some((l) => l.msg === 'trunk registered' && l.trunk === 'carrier')).toBe(true);
    const metrics = await fetch(`http://127.0.0.1:${server.httpPort}/metrics`).then((r) => r.text());
    expect(metrics).toContain('agentline_trunk_registered{trunk="carrier"} 1');

    // Blind transfer (release_on_answer, the default): the agent leaves once the target answers.
    const transfer = await transferToTarget(c);
    transfer.provisional(180);
    const target = await c.mobile.answer(transfer);
    expect(await c.agentCall.ended).toBe('remote');
    target.send(new SineSource(VOICE.target, 20_000));
    await hears(c.custCall, VOICE.target);
    await hears(target, VOICE.customer);
    expect(await transferRecords(server)).toEqual([
      { type: 'external', to: TARGET, mode: 'release_on_answer', outcome: 'connected' },
    ]);
    await waitState(server, '1001', 'ready');
    await c.custCall.hangup();
    expect(await target.ended).toBe('remote');
    await transferredAndReleased(server);
    expect(JSON.stringify(logged!.lines())).not.toContain(PASSWORD);
  }, 60_000);

  it('a consultative external transfer through Kamailio: agent and target talk, the agent hangs up, customer and target talk', async () => {
    const c = await throughCarrier({ externalTransfer: 'consult' });
    const { server } = c;
    const transfer = await transferToTarget(c);
    const target = await c.mobile.answer(transfer);
    target.send(new SineSource(VOICE.target, 20_000));
    await hears(c.agentCall, VOICE.target);
    await hears(target, VOICE.agent);
    // The customer waits on hold meanwhile and hears neither.
    await doesNotHear(c.custCall, VOICE.target);
    await doesNotHear(target, VOICE.customer);
    await c.agentCall.hangup();
    await hears(c.custCall, VOICE.target);
    await hears(target, VOICE.customer);
    await waitState(server, '1001', 'ready');
    expect(await transferRecords(server)).toEqual([
      { type: 'external', to: TARGET, mode: 'consult', outcome: 'connected' },
    ]);
    await target.hangup();
    expect(await c.custCall.ended).toBe('remote');
    await transferredAndReleased(server);
  }, 60_000);

  it('a transfer INVITE refused with a wrong password: warn line, the agent is back with the customer (error beep), not blamed', async () => {
    const c = await throughCarrier();
    const { server } = c;
    // The operator mistypes the password mid-call: the next INVITE is challenged twice.
    const patched = await api(server, '/api/v1/trunks/carrier', {
      method: 'PATCH',
      body: JSON.stringify({ password: 'not-the-password' }),
    });
    expect(patched.status).toBe(200);
    c.agentCall.recorder.clear();
    c.agentCall.sendDtmf('*');
    await c.agentCall.waitForTone(ACCEPT_HZ, 3000, 60);
    c.agentCall.sendDtmf('189261234567#');
    await c.agentCall.waitForTone(ERROR_HZ, 8000, 60);
    await kamSaid(/INVITE challenged to=\+79261234567 cseq=1/);
    await kamSaid(/INVITE challenged to=\+79261234567 cseq=2/);
    expect(kam?.stderr).not.toMatch(/INVITE authenticated to=\+79261234567/);
    expect(c.mobile.unclaimedIncoming).toHaveLength(0);
    expect(
      logged!.lines().find((l) => l.msg === 'outbound attempt failed' && l.number === TARGET),
    ).toMatchObject({ level: 40, trunk: 'carrier', status: 407, outcome: 'auth_failed' });
    // SPEC §5: the agent is still there, so they have the customer back.
    await hears(c.custCall, VOICE.agent);
    await hears(c.agentCall, VOICE.customer);
    expect(await stateOf(server, '1001')).toBe('busy');
    expect(await transferRecords(server)).toEqual([
      { type: 'external', to: TARGET, mode: 'release_on_answer', outcome: 'auth_failed' },
    ]);
    await c.custCall.hangup();
    await c.agentCall.ended;
    await waitState(server, '1001', 'ready');
    await allReleased(server);
    expect(JSON.stringify(logged!.lines())).not.toContain('not-the-password');
  }, 60_000);

  it('a wrong password: registration failed and the call attempt fails after the second challenge with warn lines; the agent is not blamed and the customer stays queued', async () => {
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
    // The state may show in the API a moment before the warn line is written.
    await eventually(
      () =>
        logged!
          .lines()
          .some((l) => l.level === 40 && l.msg === 'trunk registration failed' && l.trunk === 'carrier'),
      3000,
      'the registration warn line',
    );
    const custCall = await customerViaCarrier(server, port);
    await eventually(
      () => logged!.lines().some((l) => l.msg === 'outbound attempt failed' && l.outcome === 'auth_failed'),
      10_000,
      'the failed attempt',
    );
    // One retry with credentials (same Call-ID, CSeq 2), challenged again: no third try.
    await kamSaid(/INVITE challenged to=\+79000000001 cseq=1/);
    await kamSaid(/INVITE challenged to=\+79000000001 cseq=2/);
    expect(kam?.stderr).not.toMatch(/INVITE challenged to=\+79000000001 cseq=3/);
    expect(kam?.stderr).not.toMatch(/INVITE authenticated/);
    expect(mobile.unclaimedIncoming).toHaveLength(0);
    const lines = logged.lines();
    expect(
      lines.some((l) => l.level === 40 && l.msg === 'trunk authentication failed' && l.method === 'INVITE'),
    ).toBe(true);
    expect(lines.find((l) => l.msg === 'outbound attempt failed')).toMatchObject({
      level: 40,
      trunk: 'carrier',
      status: 407,
    });
    // Not the agent's fault: back to ready with the reason in the history, never
    // temporarily_not_ready (SPEC §3: that is for the agent's own no-answer/busy/reject).
    const id = await agentId(server, '1001');
    await eventually(
      async () =>
        (await server.store.agentStates.listStateHistory({ agentId: id })).some(
          (r) => r.to === 'ready' && r.reason === 'offer_failed:auth_failed',
        ),
      5000,
      'agent back to ready',
    );
    const history = await server.store.agentStates.listStateHistory({ agentId: id });
    expect(history.map((r) => r.to)).not.toContain('temporarily_not_ready');
    expect(await stateOf(server, '1001')).toBe('ready');
    // SPEC §5/§6: no call is dropped silently. The customer stays at the head of the queue
    // (not offered to 1001 again until the route may be back) and hears music on hold.
    expect(custCall.state).toBe('up');
    // The history row is written before the call goes back from offering to queued.
    await eventually(
      () => server.acd.liveCalls.map((c) => c.state).join() === 'queued',
      3000,
      'the customer queued again',
    );
    custCall.recorder.clear();
    await eventually(() => custCall.recorder.level(300) > 100, 3000, 'music on hold');
    const cdrRow = (await server.store.calls.listCdr())[0];
    const events = cdrRow ? await server.store.calls.listQueueEvents(cdrRow.id) : [];
    expect(events.some((e) => e.kind === 'no_answer' && e.detail === 'auth_failed')).toBe(true);
    await custCall.hangup();
    await eventually(() => server.acd.liveCalls.length === 0, 5000, 'call gone');
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
