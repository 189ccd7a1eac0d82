/**
 * The real sipp (package sip-tester) against an in-process server over loopback:
 * DTMF as RFC 4733 events from pcaps this suite generates (dtmf-pcap.ts), played with
 * sipp's play_pcap_audio (raw socket: needs root).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVICE, startServer } from '../integration/harness.ts';
import { writeDtmfPcap } from './dtmf-pcap.ts';
import { getAgentJson, tempDir, waitAgentState, watchInbound } from './tools.ts';
import { sippSuite } from './sipp.ts';

describe('sipp: DTMF from generated pcaps', () => {
  const suite = sippSuite();

  it('9000: "42#" as RFC 4733 events (PT 101) reaches the server, which reads it back and sends BYE', async () => {
    const server = (suite.server = await startServer());
    const seen = watchInbound(server);
    const dir = tempDir('sipp-9000');
    writeDtmfPcap(path.join(dir, 'digits.pcap'), '42#');

    // Exit 0: the 200 carried PCMU and telephone-event, and the server's BYE came (answered 200).
    const run = await suite.runUac(server, { scenario: 'uac-dtmf-readback.xml', cwd: dir, service: '9000' });
    expect(seen.map((c) => c.called)).toEqual(['9000']);
    expect(seen[0]?.digits.join(''), run.report()).toBe('42#');
    const trace = run.messages();
    expect(trace).toMatch(/m=audio \d+ RTP\/AVP 0 101[\s\S]*a=rtpmap:101 telephone-event\/8000/);
    expect(trace).toMatch(/received[^\n]*\n+BYE sip:/);
  }, 45_000);

  it('service IVR: agent 1001 calls from +79000000001, types PIN 2580# then 3, and is temporarily not ready', async () => {
    const server = (suite.server = await startServer());
    const seen = watchInbound(server);
    expect((await getAgentJson(server, '1001')).state).toBe('logged_out');

    const dir = tempDir('sipp-ivr');
    // One RTP stream across both pcaps: the menu key continues the PIN's SSRC, sequence and timeline.
    const pin = writeDtmfPcap(path.join(dir, 'pin.pcap'), '2580#');
    expect(pin.durationMs).toBeLessThan(3500); // the scenario pauses 3.5 s before the next play
    writeDtmfPcap(path.join(dir, 'menu.pcap'), '3', {
      firstSeq: pin.nextSeq,
      firstTimestamp: pin.nextTimestamp + (3500 - pin.durationMs) * 8,
    });

    const run = await suite.runUac(server, {
      scenario: 'uac-service-ivr-break.xml',
      cwd: dir,
      service: SERVICE,
    });

    expect(seen.map((c) => [c.called, c.caller])).toEqual([[SERVICE, '+79000000001']]);
    expect(seen[0]?.digits.join(''), run.report()).toBe('2580#3');
    const srv = server;
    await waitAgentState(srv, '1001', 'temporarily_not_ready', 'agent 1001 temporarily_not_ready');
    expect(await getAgentJson(srv, '1001')).toMatchObject({
      state: 'temporarily_not_ready',
      contact: '+79000000001',
    });
  }, 45_000);
});
