/**
 * SRTP with SDES (issue 10 item 4) end to end over loopback: test phones that offer
 * RTP/SAVP (src/media/srtp on their side too) against the server.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { answerOffer } from '../../src/call/sdp.ts';
import type { Server } from '../../src/server.ts';
import { promptPath } from '../../src/call/prompts.ts';
import { CallFailed, type TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { SERVICE, eventually } from './harness.ts';
import { SALES, answerAgent, makeReady, waitConnected, useCallRig } from './acd-helpers.ts';

const ru = (id: Parameters<typeof promptPath>[1]): string => promptPath('ru', id);

describe('SRTP (SDES) calls', () => {
  let server: Server | undefined;
  let trunk: TestPhone | undefined;
  const rig = useCallRig();
  const mk = (number: string, srtp: 'off' | 'optional' | 'mandatory'): Promise<TestPhone> =>
    rig.phone(number, { srtp });

  it('an RTP/SAVP caller hears the service IVR prompt (decrypted) and 9001 echoes its SRTP audio', async () => {
    server = await rig.start();
    const p = await mk('+79000000001', 'mandatory');
    const call = await p.call(SERVICE, { port: server.sipPort });
    expect(call.media?.srtp).toBeDefined();
    expect(call.rtp.srtp).toBe(true);
    // An exact G.711 match of the prompt: only possible if our SRTP decrypts the server's.
    await call.waitForPrompt(ru('enter_pin'));
    expect(call.rtp.stats.srtpAuthFailed).toBe(0);
    const leg = [...server.engine.legs][0]!;
    expect(leg.mediaSession.stats().srtp).toBe(true);
    await call.hangup();

    const echo = await p.call('9001', { port: server.sipPort });
    echo.send(new SineSource(1000, 8000));
    await echo.waitForTone(1000, 5000, 200);
    expect(echo.rtp.stats.srtpAuthFailed + echo.rtp.stats.srtpReplayed).toBe(0);
    await echo.hangup();
  });

  it('SRTP customer bridged to a plain RTP agent: each side hears the other', async () => {
    ({ server, trunk } = await rig.startWithTrunk());
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
    server = await rig.start();
    const p = await mk('+79000000002', 'mandatory');
    const echo = await p.call('9001', { port: server.sipPort });
    // The phone now protects with another key than the one its SDP announced.
    echo.rtp.setSrtp({ send: Buffer.alloc(30, 7), receive: echo.media!.srtp!.remoteKey.bytes });
    echo.send(new SineSource(1000, 8000));
    const leg = [...server.engine.legs][0]!;
    await eventually(() => leg.mediaSession.stats().srtpAuthFailed >= 20, 5000, 'packets refused');
    expect(leg.mediaSession.stats().packetsReceived).toBe(0);
    expect(echo.recorder.heardTone(1000, 100)).toBe(false);
    await echo.hangup();
  });

  /** Sets the default trunk's SRTP policy; `inbound`: loopback callers are the trunk's too. */
  const trunkPolicy = async (srtp: 'off' | 'optional' | 'mandatory', inbound = false): Promise<void> => {
    await server!.store.trunks.update('default', { srtp, inbound: inbound ? ['127.0.0.1'] : [] });
    await server!.trunks.reload();
  };

  it('mandatory trunk: the agent leg is offered RTP/SAVP, both legs are SRTP and audio goes both ways', async () => {
    const lines = capture();
    ({ server, trunk } = await rig.startWithTrunk({ logger: lines.logger }, { srtp: 'optional' }));
    await trunkPolicy('mandatory');
    await makeReady(server, '1001');
    const c = await mk('+79161234567', 'mandatory');
    const custCall = await c.call(SALES, { port: server.sipPort });
    const { call: agentCall, invite } = await answerAgent(trunk, '1001');
    expect(invite.offer).toMatch(/m=audio \d+ RTP\/SAVP /);
    expect(invite.offer).toMatch(/a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/);
    expect(agentCall.rtp.srtp).toBe(true);
    await waitConnected(server, '1001');
    custCall.send(new SineSource(1000, 8000));
    agentCall.send(new SineSource(600, 8000));
    await agentCall.waitForTone(1000, 5000, 200);
    await custCall.waitForTone(600, 5000, 200);
    await custCall.hangup();
    expect(await agentCall.ended).toBe('remote');
  });

  it('mandatory trunk: a plain RTP/AVP answer to our RTP/SAVP offer fails the leg with a warn line', async () => {
    const lines = capture();
    ({ server, trunk } = await rig.startWithTrunk({ logger: lines.logger }));
    await trunkPolicy('mandatory');
    await makeReady(server, '1001');
    const c = await mk('+79161234567', 'off');
    await c.call(SALES, { port: server.sipPort });
    const inv = await trunk.nextIncoming(10_000, '+79000000001');
    // A broken peer: answers an RTP/SAVP offer with plain RTP/AVP.
    const plain = answerOffer(inv.offer!.replace('RTP/SAVP', 'RTP/AVP'), {
      host: '127.0.0.1',
      port: 40000,
      codecs: ['PCMU'],
      sessionId: 5,
      sessionVersion: 1,
    });
    expect(plain.ok).toBe(true);
    if (plain.ok) void inv.accept(plain.sdp);
    await eventually(() => lines.has('answer refused: SRTP policy not met'), 5000, 'warn line');
    expect(lines.warn('answer refused: SRTP policy not met')).toMatchObject({
      policy: 'mandatory',
      reason: 'Media protocol differs from the offer',
    });
  });

  it('inbound from a trunk: mandatory refuses an RTP/AVP offer, off refuses RTP/SAVP (488 with a warn line)', async () => {
    const lines = capture();
    ({ server, trunk } = await rig.startWithTrunk({ logger: lines.logger }));
    await trunkPolicy('mandatory', true);
    const plain = await mk('+79160000001', 'off');
    await expect(plain.call(SALES, { port: server.sipPort })).rejects.toMatchObject({ status: 488 });
    expect(lines.warn('INVITE refused (488): SRTP policy not met')).toMatchObject({
      reason: 'SRTP required',
    });
    await trunkPolicy('off', true);
    const secure = await mk('+79160000002', 'mandatory');
    await expect(secure.call(SALES, { port: server.sipPort })).rejects.toBeInstanceOf(CallFailed);
    expect(lines.warns('INVITE refused (488): SRTP policy not met').at(-1)).toMatchObject({
      reason: 'SRTP not enabled',
    });
    // optional (the default) answers both.
    await trunkPolicy('optional', true);
    const s = await secure.call('9001', { port: server.sipPort });
    expect(s.rtp.srtp).toBe(true);
    await s.hangup();
    const p = await plain.call('9001', { port: server.sipPort });
    expect(p.rtp.srtp).toBe(false);
    await p.hangup();
  });
});

/** A pino logger into memory, with lookups by message. */
function capture(): {
  logger: Logger;
  has(msg: string): boolean;
  warn(msg: string): Record<string, unknown> | undefined;
  warns(msg: string): Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const warns = (msg: string) => lines.filter((l) => l.level === 40 && l.msg === msg);
  return {
    logger: pino({ level: 'info' }, sink),
    has: (msg) => lines.some((l) => l.msg === msg),
    warn: (msg) => warns(msg)[0],
    warns,
  };
}
