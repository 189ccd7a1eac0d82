/**
 * Inband DTMF end to end with tools we did not write: keys made by sox (40 ms tones,
 * 40 ms gaps, −20 dBm0 per tone), played by the real sipp as PCMU RTP from a pcap, from
 * a phone whose SDP has no telephone-event. play_pcap_audio needs root (raw socket).
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InbandDtmfDetector } from '../../src/media/dtmf/inband.ts';
import { ulawDecode } from '../../src/media/codec/g711.ts';
import { SERVICE, startServer } from '../integration/harness.ts';
import { writeUlawPcap } from './audio-pcap.ts';
import { soxDtmf } from './sox-dtmf.ts';
import {
  getAgentJson,
  requireTool,
  tempDir,
  waitAgentState,
  watchInbound,
} from './tools.ts';
import { sippSuite } from './sipp.ts';

const ALL = '0123456789*#ABCD';

describe('inband DTMF made by sox', () => {
  let sox: string;
  const suite = sippSuite({ lazy: true });

  beforeAll(() => {
    sox = requireTool('sox', 'sox');
  });

  it('the detector finds every key in sox-made 40 ms tones at −20 dBm0 with 40 ms gaps', () => {
    const dir = tempDir('sox-dtmf');
    const ulaw = soxDtmf(sox, dir, path.join(dir, 'all.wav'), ALL, { leadMs: 40 });
    // The level is what we asked sox for: a key's two tones of peak A have RMS A.
    const tone = ulaw.subarray(320, 320 + 320);
    let sum = 0;
    for (const b of tone) sum += ulawDecode(b) ** 2;
    const perToneDbm0 = 20 * Math.log10(Math.sqrt(sum / tone.length) / 22657);
    expect(perToneDbm0).toBeGreaterThan(-20.5);
    expect(perToneDbm0).toBeLessThan(-19.5);
    const det = new InbandDtmfDetector();
    let got = '';
    det.onDigit = (d) => (got += d);
    for (let i = 0; i < ulaw.length; i += 160) det.feedPayload(ulaw.subarray(i, i + 160), 'PCMU');
    expect(got).toBe(ALL);
  });

  it('service IVR: sipp with no telephone-event types PIN 2580# and key 3 as sox tones; agent 1001 is not ready', async () => {
    const server = (suite.server = await startServer());
    const seen = watchInbound(server);
    expect((await getAgentJson(server, '1001')).state).toBe('logged_out');

    const dir = tempDir('sipp-inband');
    const pin = writeUlawPcap(
      path.join(dir, 'pin.pcap'),
      soxDtmf(sox, dir, path.join(dir, 'pin.wav'), '2580#', { leadMs: 100 }),
    );
    expect(pin.durationMs).toBeLessThan(3500); // the scenario pauses 3.5 s before the next play
    writeUlawPcap(
      path.join(dir, 'menu.pcap'),
      soxDtmf(sox, dir, path.join(dir, 'menu.wav'), '3', { leadMs: 100 }),
      {
        firstSeq: pin.nextSeq,
        firstTimestamp: pin.nextTimestamp + (3500 - pin.durationMs) * 8,
      },
    );

    const run = await suite.runUac(server, {
      scenario: 'uac-service-ivr-inband.xml',
      cwd: dir,
      service: SERVICE,
    });

    const trace = run.messages();
    expect(trace).toMatch(/m=audio \d+ RTP\/AVP 0\r?\n/);
    expect(trace).not.toMatch(/telephone-event/);
    expect(seen.map((c) => [c.called, c.caller])).toEqual([[SERVICE, '+79000000001']]);
    expect(seen[0]?.digits.join(''), run.report()).toBe('2580#3');
    const srv = server;
    await waitAgentState(srv, '1001', 'temporarily_not_ready', 'agent 1001 temporarily_not_ready');
  }, 45_000);
});
