/**
 * The real baresip (package baresip-core), headless, against an in-process server over
 * loopback: it calls the echo test (9001) sending a 1 kHz tone from a WAV (aufile) and
 * dumps what it receives (sndfile); the dump must hold the tone.
 */
import { describe, expect, it } from 'vitest';
import { startServer } from '../integration/harness.ts';
import { baresipSuite, startBaresipCaller, toneFrameCount } from './baresip.ts';
import { LOOPBACK, sleep, watchInbound } from './tools.ts';

const TONE_HZ = 1000;

describe('baresip: echo test', () => {
  const suite = baresipSuite();

  it('9001: baresip sends a 1 kHz tone (PCMU) and gets it back', async () => {
    const server = (suite.server = await startServer());
    const seen = watchInbound(server);
    // -t 20: baresip quits by itself should the test lose control of it.
    const p = (suite.phone = await startBaresipCaller({
      baresip: suite.baresip,
      toneHz: TONE_HZ,
      runSeconds: 20,
    }));
    await p.dial(`sip:9001@${LOOPBACK}:${server.sipPort}`, 5000);
    await sleep(2500);
    await p.finishCall();

    expect(seen.map((c) => c.called)).toEqual(['9001']);
    const { withTone, frames } = toneFrameCount(p.received(), TONE_HZ);
    // 2.5 s of call: at least 1.5 s (75 frames) of our tone must have come back.
    expect(withTone, `${withTone}/${frames} received frames carry ${TONE_HZ} Hz`).toBeGreaterThanOrEqual(75);
    // baresip's BYE ended the server's leg.
    expect(seen[0]?.ended).toBe(true);
  }, 30_000);
});
