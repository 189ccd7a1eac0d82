/**
 * The real baresip (Debian baresip-core 1.0) as a SIP-phone agent (issue 10
 * "Done when"): it registers to AgentLine with digest auth — over UDP with MD5
 * (the per-account default), or over TLS (RFC 3261 §26; baresip's sip_cafile
 * is the test CA) — logs in through the service IVR with `deliverTo:
 * caller_id` (so `sip:agent1003` becomes the session contact), is offered a
 * customer call that it answers by itself, and both sides hear each other:
 * the customer (our test phone) hears baresip's 700 Hz, baresip's sndfile
 * dump holds the customer's 1100 Hz. Then AgentLine restarts on the same
 * SQLite file and ports: the binding survived, and the next customer call is
 * delivered without baresip registering again.
 *
 * With SRTP (`scenario('tls', { srtp: true })`): the SIP account's policy is
 * `mandatory` (migration 007; what decides our offer to its phone) and baresip
 * runs srtp.so with `mediaenc=srtp-mand`: our INVITE offers RTP/SAVP with
 * a=crypto (RFC 4568), baresip answers SRTP, and the agent leg's packets are
 * authenticated both ways — each 10 bytes (the HMAC-SHA1-80 tag) longer than
 * plain PCMU.
 *
 * Every call also has sox's `stat` of baresip's recording: its RMS is well
 * above silence (a second opinion beside our Goertzel).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { SERVICE, eventually, phone, startServer } from '../integration/harness.ts';
import { SUPPORT, agentId } from '../integration/acd-helpers.ts';
import { type Baresip, TLS_FIXTURES, soxStat, startBaresipAgent } from './baresip.ts';
import { LOOPBACK, finishSuite, freePortBlock, killAll, requireTool, sleep } from './tools.ts';

const USER = 'agent1003';
const PASSWORD = 'secret-1003';
const BARESIP_HZ = 700;
const CUSTOMER_HZ = 1100;
/** RTP header + 20 ms of PCMU. */
const PLAIN_PCMU_PACKET = 12 + 160;
/** RFC 3711 AES_CM_128_HMAC_SHA1_80: the auth tag each SRTP packet carries. */
const SRTP_TAG = 10;

describe('baresip as a SIP-phone agent', () => {
  let baresip: string;
  let server: Server | undefined;
  let agent: Baresip | undefined;
  const phones: TestPhone[] = [];
  let dbDir: string | undefined;

  beforeAll(() => {
    baresip = requireTool('baresip', 'baresip-core');
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && agent) console.log(agent.proc.tail(80));
    agent?.ctrl.close();
    agent = undefined;
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await killAll();
    await server?.stop();
    server = undefined;
    if (dbDir) rmSync(dbDir, { recursive: true, force: true });
    dbDir = undefined;
  });

  afterAll(finishSuite);

  /** A server on fixed ports (a restart takes the same ones), its SQLite file in `db`. */
  const start = (db: string, ports: { sip: number; tls: number }): Promise<Server> =>
    startServer({
      db,
      sipPort: ports.sip,
      tlsPort: ports.tls,
      tlsCert: path.join(TLS_FIXTURES, 'server.crt'),
      tlsKey: path.join(TLS_FIXTURES, 'server.key'),
      tlsCa: path.join(TLS_FIXTURES, 'ca.crt'),
    });

  /** Messages baresip's ctrl_tcp sent from now on that match. */
  const nextEvent = (a: Baresip, type: string, timeoutMs: number): Promise<unknown> => {
    const from = a.ctrl.messages.length;
    return a.ctrl.waitFor(
      (m) => a.ctrl.messages.indexOf(m) >= from && m.event === true && m.type === type,
      timeoutMs,
      `event ${type}`,
    );
  };

  /** A customer calls Support; baresip answers by itself; each side hears the other's tone. */
  async function customerCall(s: Server, a: Baresip, srtp: boolean): Promise<void> {
    const customer = await phone({ number: '+79165550000' });
    phones.push(customer);
    const before = a.decDumps();
    const established = nextEvent(a, 'CALL_ESTABLISHED', 10_000);
    const custCall = await customer.call(SUPPORT, { port: s.sipPort });
    await established;
    custCall.send(new SineSource(CUSTOMER_HZ, 8000));
    await custCall.waitForTone(BARESIP_HZ, 8000, 300);
    await sleep(2000);
    const leg = [...s.engine.legs].find((l) => l.direction === 'outbound');
    expect(leg, 'the leg to baresip').toBeDefined();
    const offer = leg!.session?.localSdp ?? '';
    const { packetsReceived, bytesReceived, packetsSent, bytesSent, srtpAuthFailed, srtpReplayed } =
      leg!.mediaSession.stats();
    if (srtp) {
      // What we offered baresip, what it answered, and what went over the wire.
      expect(offer).toMatch(/^m=audio \d+ RTP\/SAVP /m);
      expect(offer).toMatch(/^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/m);
      expect(leg!.media?.srtp, 'the agent leg negotiated SRTP').toBeDefined();
      expect(leg!.mediaSession.stats().srtp).toBe(true);
      // Every packet counted from baresip passed HMAC-SHA1-80 under the key of its answer
      // (a plain RTP packet would fail it), and both ways the datagrams carry the 10-byte tag.
      expect(packetsReceived).toBeGreaterThan(50);
      expect(srtpAuthFailed + srtpReplayed).toBe(0);
      expect(bytesReceived / packetsReceived).toBeGreaterThanOrEqual(PLAIN_PCMU_PACKET + SRTP_TAG);
      expect(bytesSent / packetsSent).toBeGreaterThanOrEqual(PLAIN_PCMU_PACKET + SRTP_TAG);
    } else {
      expect(offer).toMatch(/^m=audio \d+ RTP\/AVP /m);
      expect(leg!.mediaSession.stats().srtp).toBe(false);
    }
    const closed = nextEvent(a, 'CALL_CLOSED', 5000);
    await custCall.hangup();
    await closed;
    const { withTone, file } = a.toneFramesInNewDump(before, CUSTOMER_HZ);
    expect(file, `no new sndfile dump\n${a.proc.tail()}`).toBeDefined();
    // 2 s and more of call after the customer's tone started: at least 1 s (50 frames) heard.
    expect(withTone, `${withTone} frames of ${CUSTOMER_HZ} Hz in ${file}`).toBeGreaterThanOrEqual(50);
    // sox: the recording is loud (the tone is at −12 dBFS, RMS 0.18; silence is 0).
    const stat = soxStat(file!);
    expect(stat.rms, stat.text).toBeGreaterThan(0.05);
  }

  async function scenario(
    transport: 'udp' | 'tls',
    { srtp = false }: { srtp?: boolean } = {},
  ): Promise<void> {
    dbDir = mkdtempSync(path.join(tmpdir(), 'agentline-baresip-'));
    const db = path.join(dbDir, 'agentline.db');
    const base = await freePortBlock(2);
    const ports = { sip: base, tls: base + 1 };
    server = await start(db, ports);
    const id = await agentId(server, '1003');
    await server.store.directory.createSipAccount(USER, PASSWORD, 'agentline', id);
    await server.loadSipCredentials();
    for (const c of await server.store.directory.listCompanies())
      await server.store.directory.updateCompanySettings(c.id, { deliverTo: 'caller_id' });
    if (srtp) {
      await server.store.directory.setSipAccountSrtp(USER, 'agentline', 'mandatory');
      await server.loadSipCredentials();
    }

    agent = await startBaresipAgent({
      baresip,
      user: USER,
      password: PASSWORD,
      registrarPort: transport === 'tls' ? ports.tls : ports.sip,
      transport,
      toneHz: BARESIP_HZ,
      ...(srtp ? { mediaenc: 'srtp-mand' as const } : {}),
    });
    const a = agent;
    const s1 = server;
    await eventually(() => s1.registrar.lookup(USER).length === 1, 8000, 'baresip registered').catch(
      (e: unknown) => {
        throw new Error(`${String(e)}\n${a.proc.tail()}`);
      },
    );
    expect(s1.registrar.lookup(USER)[0]?.source.transport).toBe(transport);

    // Login through the service IVR: login id, then PIN, as RFC 4733 digits.
    const tp = transport === 'tls' ? ';transport=tls' : '';
    const port = transport === 'tls' ? ports.tls : ports.sip;
    const established = nextEvent(a, 'CALL_ESTABLISHED', 8000);
    expect((await a.ctrl.command('dial', `sip:${SERVICE}@${LOOPBACK}:${port}${tp}`)).ok, a.proc.tail()).toBe(
      true,
    );
    await established;
    await sleep(1000);
    await a.digits('1003#');
    await sleep(1500);
    await a.digits('2580#');
    await eventually(
      async () => (await s1.store.directory.getAgentByLogin('1003'))?.sessionContact === `sip:${USER}`,
      10_000,
      'the SIP user as session contact',
    );
    const closed = nextEvent(a, 'CALL_CLOSED', 5000);
    await a.ctrl.command('hangup');
    await closed;
    await eventually(async () => (await s1.agentStates.getState(id)).state === 'ready', 5000, 'ready');

    await customerCall(s1, a, srtp);

    // Restart on the same file and ports: the binding is back without a new REGISTER.
    await s1.stop();
    server = undefined;
    server = await start(db, ports);
    const s2 = server;
    expect(s2.registrar.lookup(USER)).toHaveLength(1);
    if ((await s2.agentStates.getState(id)).state !== 'ready')
      await s2.agentStates.transition(id, 'ready', { reason: 'test', source: 'api' });
    await eventually(async () => (await s2.agentStates.getState(id)).state === 'ready', 3000, 'ready');
    expect(s2.registrar.lookup(USER)[0]?.source.transport).toBe(transport);
    await customerCall(s2, a, srtp);
    expect(s2.stack.counters.requests.received.get('REGISTER') ?? 0).toBe(0);
    // Over TLS the registration's connection died with the first server: the
    // call went over a new TLS connection to baresip's Contact, never another transport.
    if (transport === 'tls') {
      expect(s2.tls.stats.accepted).toBe(0);
      expect(s2.tls.connectionCount).toBe(1);
    }

    await a.quit();
    agent = undefined;
  }

  it('over UDP with MD5 digest: registers, logs in (deliverTo caller_id), takes a customer call both ways; the binding survives a restart', async () => {
    await scenario('udp');
  }, 90_000);

  it('over TLS with digest: registers, logs in, takes a customer call both ways; the binding survives a restart', async () => {
    await scenario('tls');
  }, 90_000);

  it('over TLS with digest and SRTP (mediaenc=srtp-mand, policy mandatory): registers, logs in, takes a customer call both ways over SRTP; the binding survives a restart', async () => {
    await scenario('tls', { srtp: true });
  }, 90_000);
});
