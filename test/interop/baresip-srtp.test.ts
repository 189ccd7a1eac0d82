/**
 * The real baresip (Debian baresip-core, module srtp.so) with `mediaenc=srtp-mand`: it offers
 * RTP/SAVP with SDES keys (RFC 4568) and takes nothing but SRTP. Over UDP on loopback:
 *  - baresip calls the echo test (9001) sending a 1 kHz tone: it must come back, i.e. our
 *    SRTP decrypted baresip's packets and baresip decrypted ours;
 *  - baresip is a customer calling a hotline, the agent a plain-RTP test phone on the trunk:
 *    the agent hears baresip's 1 kHz, baresip's recording holds the agent's 600 Hz (an SRTP
 *    leg bridged to a plain one, both directions).
 */
import { describe, expect, it } from 'vitest';
import { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { eventually, startServer } from '../integration/harness.ts';
import {
  CONTACT,
  SALES,
  answerAgent,
  makeReady,
  startWithTrunk,
  waitConnected,
} from '../integration/acd-helpers.ts';
import { Baresip, baresipSuite, startBaresipCaller, toneFrameCount } from './baresip.ts';
import { LOOPBACK, sleep } from './tools.ts';

describe('baresip with SRTP (mediaenc=srtp-mand)', () => {
  const suite = baresipSuite();

  /** Starts baresip sending `freq` Hz, with SRTP mandatory (no REGISTER). */
  async function start(freq: number): Promise<Baresip> {
    return (suite.phone = await startBaresipCaller({
      baresip: suite.baresip,
      toneHz: freq,
      mediaenc: 'srtp-mand',
      runSeconds: 25,
      name: 'baresip-srtp',
    }));
  }

  it('9001: baresip sends a 1 kHz tone over SRTP and gets it back', async () => {
    const server = (suite.server = await startServer());
    const b = await start(1000);
    await b.dial(`sip:9001@${LOOPBACK}:${server.sipPort}`, 8000);
    const leg = [...server.engine.legs][0]!;
    expect(leg.media?.srtp, 'the server leg negotiated SRTP').toBeDefined();
    expect(leg.mediaSession.stats().srtp).toBe(true);
    await sleep(2500);
    // What we received from baresip authenticated and decrypted, with nothing refused.
    expect(leg.mediaSession.stats().packetsReceived).toBeGreaterThan(50);
    expect(leg.mediaSession.stats().srtpAuthFailed + leg.mediaSession.stats().srtpReplayed).toBe(0);
    await b.finishCall();
    const { withTone, frames } = toneFrameCount(b.received(), 1000);
    // 2.5 s of call: at least 1.5 s (75 frames) of our tone must have come back through SRTP.
    expect(withTone, `${withTone}/${frames} received frames carry 1000 Hz`).toBeGreaterThanOrEqual(75);
  }, 40_000);

  it('baresip (SRTP) calls a hotline, a plain-RTP agent answers: both hear each other', async () => {
    const { server, trunk } = await startWithTrunk();
    suite.server = server;
    suite.trunk = trunk;
    await makeReady(server, '1001');
    const b = await start(1000);
    const dialing = b.dial(`sip:${SALES}@${LOOPBACK}:${server.sipPort}`, 8000);
    const { call: agentCall, invite } = await answerAgent(trunk, '1001');
    await dialing;
    expect(invite.offer).toContain('RTP/AVP');
    agentCall.send(new SineSource(600, 8000));
    await waitConnected(server, '1001');
    await agentCall.waitForTone(1000, 8000, 300);
    const customerLeg = [...server.engine.legs].find((l) => l.direction === 'inbound')!;
    expect(customerLeg.mediaSession.stats().srtp).toBe(true);
    // Give baresip's recording 2 s of the agent's tone after the bridge.
    await sleep(2000);
    await b.finishCall();
    await eventually(() => agentCall.state === 'ended', 5000, 'agent leg ended');
    const { withTone, frames } = toneFrameCount(b.received(), 600);
    expect(withTone, `${withTone}/${frames} received frames carry 600 Hz`).toBeGreaterThanOrEqual(50);
  }, 40_000);

  it('baresip as the agent behind an SRTP-mandatory trunk: our RTP/SAVP offer, both directions heard', async () => {
    // baresip takes only calls to its account's user: the agent's number (the trunk dials it).
    const b = (suite.phone = await Baresip.start({
      baresip: suite.baresip,
      toneHz: 1000,
      toneMs: 10_000,
      wavMs: 20_000,
      aor: `<sip:${CONTACT['1001']}@${LOOPBACK}>`,
      accountParams: ['regint=0', 'answermode=auto'],
      mediaenc: 'srtp-mand',
      rtpTimeout: 10,
      runSeconds: 25,
      name: 'baresip-srtp',
    }));
    const server = (suite.server = await startServer({ trunk: `sip:${LOOPBACK}:${b.sipPort}` }));
    await server.store.trunks.update('default', { srtp: 'mandatory' });
    await server.trunks.reload();
    await makeReady(server, '1001');
    const customer = await TestPhone.create({ number: '+79161234567' });
    try {
      const call = await customer.call(SALES, { port: server.sipPort });
      call.send(new SineSource(600, 8000));
      await b.ctrl.waitEvent('CALL_ESTABLISHED', 8000).catch((e: unknown) => {
        throw new Error(`${String(e)}\n${b.proc.tail()}`);
      });
      await waitConnected(server, '1001');
      const agentLeg = [...server.engine.legs].find((l) => l.direction === 'outbound')!;
      expect(agentLeg.media?.srtp, 'baresip answered RTP/SAVP').toBeDefined();
      expect(agentLeg.mediaSession.stats().srtp).toBe(true);
      await call.waitForTone(1000, 8000, 300);
      await sleep(2000);
      expect(agentLeg.mediaSession.stats().srtpAuthFailed).toBe(0);
      await call.hangup();
      await b.finishCall({ hangup: false, closedMs: 5000 });
    } finally {
      await customer.close();
    }
    const { withTone, frames } = toneFrameCount(b.received(), 600);
    expect(withTone, `${withTone}/${frames} received frames carry 600 Hz`).toBeGreaterThanOrEqual(50);
  }, 40_000);
});
