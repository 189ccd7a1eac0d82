import { afterEach, describe, expect, it } from 'vitest';
import { DIAG_ECHO } from '../../src/diag/diagnostics.ts';
import type { Server } from '../../src/server.ts';
import { RawSip, rawRequest, startServer } from './harness.ts';

const sdp = (host: string): string =>
  [
    'v=0',
    `o=- 1 1 IN IP4 ${host}`,
    's=-',
    `c=IN IP4 ${host}`,
    't=0 0',
    'm=audio 40000 RTP/AVP 0',
    'a=rtpmap:0 PCMU/8000',
    '',
  ].join('\r\n');

const header = (msg: string, name: string): string | undefined =>
  new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(msg)?.[1]?.trim();

/**
 * Issue 10 item 6, `--local-nets` (as Asterisk's local_net): a peer whose source address is in
 * one of the networks sees our local address in SDP and Contact, any other the --advertise one.
 * Both peers are loopback addresses (127.0.0.1 inside 127.0.0.0/30, 127.0.0.9 outside): all
 * traffic stays on loopback.
 */
describe('--local-nets', () => {
  let server: Server;
  const socks: RawSip[] = [];
  afterEach(async () => {
    for (const s of socks.splice(0)) s.close();
    await server.stop();
  });

  /** A call from `from` to the echo number: the 200's Contact and SDP address; then ACK and BYE. */
  async function seen(from: string): Promise<{ contact: string; sdpHost: string }> {
    const raw = await RawSip.open(from);
    socks.push(raw);
    const callId = `local-nets-${from}-${Math.random()}`;
    const ruri = `sip:${DIAG_ECHO}@127.0.0.1:${server.sipPort}`;
    raw.sendInvite(DIAG_ECHO, server.sipPort, sdp(from), callId);
    const ok = await raw.waitFor(/^SIP\/2.0 200/, 5000);
    const contact = header(ok, 'Contact') ?? '';
    const sdpHost = /^c=IN IP4 (\S+)/m.exec(ok)?.[1] ?? '';
    const to = header(ok, 'To') ?? '';
    const inDialog = (method: string, seq: number): string =>
      rawRequest(method, ruri, raw.port, '', '', callId)
        .replace(/^To: .*$/m, `To: ${to}`)
        .replace(/^CSeq: .*$/m, `CSeq: ${seq} ${method}`);
    raw.send(inDialog('ACK', 1), server.sipPort);
    raw.send(inDialog('BYE', 2), server.sipPort);
    await raw.waitFor(/^SIP\/2.0 200 [^\r\n]*\r\n(?:[^\r\n]+\r\n)*CSeq: 2 BYE/i, 5000);
    return { contact, sdpHost };
  }

  it('a peer inside sees the local address; a peer outside the advertised one', async () => {
    server = await startServer({ advertise: '127.0.0.2', localNets: '127.0.0.0/30' });
    const inside = await seen('127.0.0.1');
    expect(inside.sdpHost).toBe('127.0.0.1');
    expect(inside.contact).toMatch(/@127\.0\.0\.1:/);
    const outside = await seen('127.0.0.9');
    expect(outside.sdpHost).toBe('127.0.0.2');
    expect(outside.contact).toMatch(/@127\.0\.0\.2:/);
  });

  it('without --local-nets every peer sees the advertised address', async () => {
    server = await startServer({ advertise: '127.0.0.2' });
    expect((await seen('127.0.0.1')).sdpHost).toBe('127.0.0.2');
  });
});
