/**
 * The real baresip (package baresip-core), headless, against an in-process server over
 * loopback: it calls the echo test (9001) sending a 1 kHz tone from a WAV (aufile) and
 * dumps what it receives (sndfile); the dump must hold the tone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { readWav } from '../../src/media/wav.ts';
import { startServer } from '../integration/harness.ts';
import { type Baresip, startBaresipCaller, toneFrameCount } from './baresip.ts';
import { LOOPBACK, finishSuite, killAll, requireTool, CLEAN_EXIT, sleep, watchInbound } from './tools.ts';

const TONE_HZ = 1000;

describe('baresip: echo test', () => {
  let baresip: string;
  let server: Server | undefined;
  let phone: Baresip | undefined;

  beforeAll(() => {
    baresip = requireTool('baresip', 'baresip-core');
  });

  afterEach(async () => {
    phone?.ctrl.close();
    phone = undefined;
    await killAll();
    await server?.stop();
    server = undefined;
  });

  afterAll(finishSuite);

  it('9001: baresip sends a 1 kHz tone (PCMU) and gets it back', async () => {
    server = await startServer();
    const seen = watchInbound(server);
    // -t 20: baresip quits by itself should the test lose control of it.
    phone = await startBaresipCaller({ baresip, toneHz: TONE_HZ, runSeconds: 20 });
    const p = phone;
    await p.dial(`sip:9001@${LOOPBACK}:${server.sipPort}`, 5000);
    await sleep(2500);
    await p.ctrl.command('hangup');
    await p.ctrl.waitEvent('CALL_CLOSED', 3000);
    await p.ctrl.command('quit').catch(() => undefined); // it may close the socket before answering
    const exit = await p.proc.wait(5000);
    expect(exit, p.proc.tail()).toEqual(CLEAN_EXIT);

    expect(seen.map((c) => c.called)).toEqual(['9001']);
    const dec = p.newDump();
    expect(dec, `no sndfile dump\n${p.proc.tail()}`).toBeDefined();
    const { withTone, frames } = toneFrameCount(readWav(dec!), TONE_HZ);
    // 2.5 s of call: at least 1.5 s (75 frames) of our tone must have come back.
    expect(withTone, `${withTone}/${frames} received frames carry ${TONE_HZ} Hz`).toBeGreaterThanOrEqual(75);
    // baresip's BYE ended the server's leg.
    expect(seen[0]?.ended).toBe(true);
  }, 30_000);
});
