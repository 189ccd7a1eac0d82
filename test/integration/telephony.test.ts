import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { toneSource } from '../../src/media/tones.ts';
import { promptPath } from '../../src/call/prompts.ts';
import { CallFailed, type TestPhone } from '../phone/phone.ts';
import { RawSip, eventually, phone, rawRequest, sleep, startServer } from './harness.ts';
import { SineSource } from '../phone/sine.ts';

const ru = (id: Parameters<typeof promptPath>[1]): string => promptPath('ru', id);

describe('telephony core over loopback', () => {
  let server: Server;
  let alice: TestPhone;
  let raw: RawSip;

  beforeAll(async () => {
    server = await startServer();
    alice = await phone({ number: '+79001112233' });
    raw = await RawSip.open();
  });

  afterAll(async () => {
    raw.close();
    await alice.close();
    await server.stop();
  });

  it('answers /healthz once SIP and HTTP listen', async () => {
    const res = await fetch(`http://127.0.0.1:${server.httpPort}/healthz`);
    expect(res.status).toBe(200);
  });

  it('9000 reads back digits sent as RFC 4733 events', async () => {
    const call = await alice.call('9000', { port: server.sipPort });
    await call.waitForPrompt(ru('enter_digits'));
    call.sendDtmf('305#');
    await call.waitForPrompt(ru('digit_5'), 15_000);
    const r = call.recorder;
    const order = ['you_entered', 'digit_3', 'digit_0', 'digit_5'].map((id) =>
      r.promptAt(ru(id as 'digit_3')),
    );
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // The server hangs up after "goodbye".
    expect(await call.ended).toBe('remote');
  });

  it('9000 takes digits sent as SIP INFO (application/dtmf-relay)', async () => {
    const call = await alice.call('9000', { port: server.sipPort });
    await call.waitForPrompt(ru('enter_digits'));
    call.sendDtmf('71#', 'info');
    await call.waitForPrompt(ru('digit_1'), 15_000);
    expect(call.recorder.promptAt(ru('digit_7'))).toBeLessThan(call.recorder.promptAt(ru('digit_1')));
    await call.hangup();
  });

  it('9001 echoes audio back', async () => {
    const call = await alice.call('9001', { port: server.sipPort });
    call.send(new SineSource(1000, 8000));
    await call.waitForTone(1000, 5000, 200);
    await call.hangup();
  });

  it('9001 over TCP', async () => {
    const call = await alice.call('9001', { port: server.sipPort }, { transport: 'tcp' });
    call.send(new SineSource(700, 8000));
    await call.waitForTone(700, 5000, 200);
    await call.hangup();
  });

  it('offers SDP in the 200 when the INVITE has none, and takes the answer from the ACK', async () => {
    const call = await alice.call('9001', { port: server.sipPort }, { noSdp: true });
    call.send(new SineSource(1200, 8000));
    await call.waitForTone(1200, 5000, 200);
    await call.hangup();
  });

  it('PCMA-only phone is answered in PCMA', async () => {
    const bob = await phone({ number: '+79004445566', codecs: ['PCMA'] });
    const call = await bob.call('9000', { port: server.sipPort });
    expect(call.codec).toBe('PCMA');
    await call.waitForPrompt(ru('enter_digits'));
    await call.hangup();
    await bob.close();
  });

  it('an unknown number gets 404', async () => {
    await expect(alice.call('5555', { port: server.sipPort })).rejects.toMatchObject({ status: 404 });
  });

  it('no common codec gets 488', async () => {
    const sdp =
      'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n';
    raw.sendInvite('9001', server.sipPort, sdp);
    await raw.waitFor(/^SIP\/2\.0 488/);
  });

  it('an out-of-range media port or a malformed c= address gets 488, not 500, and holds no port', async () => {
    const free = server.pool.free;
    const bad = [
      ['m=audio 65536', 'c=IN IP4 127.0.0.1'],
      ['m=audio 99999999999999999999', 'c=IN IP4 127.0.0.1'],
      ['m=audio 4000', 'c=IN IP4 300.1.1.1'],
      ['m=audio 4000', 'c=IN IP4 phone.example.com'],
    ];
    for (const [i, [m, c]] of bad.entries()) {
      const sdp = `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n${c}\r\nt=0 0\r\n${m} RTP/AVP 0\r\n`;
      raw.received.length = 0;
      raw.sendInvite('9001', server.sipPort, sdp, `bad-sdp-${i}`);
      const res = await raw.waitFor(/^SIP\/2\.0 [2-6]\d\d /);
      expect(res.split('\r\n')[0]).toMatch(/^SIP\/2\.0 488 /);
    }
    expect(server.pool.free).toBe(free);
    expect(server.engine.activeLegs).toBe(0);
  });

  it('CANCEL of a ringing call gets 200 and the INVITE 487', async () => {
    const before = server.pool.free;
    const sdp =
      'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
    const branch = 'z9hG4bKcancel' + Date.now();
    const head = (m: string): string =>
      `${m} sip:9002@127.0.0.1:${server.sipPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${raw.port};branch=${branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:raw@127.0.0.1>;tag=c1\r\nTo: <sip:9002@127.0.0.1>\r\nCall-ID: cancel-test\r\nCSeq: 1 ${m}\r\n`;
    raw.send(
      `${head('INVITE')}Contact: <sip:raw@127.0.0.1:${raw.port}>\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`,
      server.sipPort,
    );
    await raw.waitFor(/^SIP\/2\.0 180/);
    raw.send(`${head('CANCEL')}Content-Length: 0\r\n\r\n`, server.sipPort);
    await raw.waitFor(/^SIP\/2\.0 200 OK[\s\S]*CSeq: 1 CANCEL/);
    await raw.waitFor(/^SIP\/2\.0 487/);
    await eventually(() => server.pool.free === before, 2000, 'RTP ports back in the pool');
  });

  it('answers OPTIONS with Allow, BYE for no dialog with 481, unknown methods with 405', async () => {
    raw.send(rawRequest('OPTIONS', `sip:127.0.0.1:${server.sipPort}`, raw.port), server.sipPort);
    const ok = await raw.waitFor(/^SIP\/2\.0 200[\s\S]*CSeq: 1 OPTIONS/);
    expect(ok).toMatch(/Allow: .*INVITE/);
    raw.send(
      rawRequest('BYE', `sip:9000@127.0.0.1:${server.sipPort}`, raw.port, '', '', 'nodialog')
        .replace('To: <sip:9000@', 'To: <sip:9000@')
        .replace(/(To: <[^>]+>)/, '$1;tag=nope'),
      server.sipPort,
    );
    await raw.waitFor(/^SIP\/2\.0 481[\s\S]*CSeq: 1 BYE/);
    raw.send(rawRequest('SUBSCRIBE', `sip:9000@127.0.0.1:${server.sipPort}`, raw.port), server.sipPort);
    await raw.waitFor(/^SIP\/2\.0 405[\s\S]*CSeq: 1 SUBSCRIBE/);
  });

  it('answers with rport/received to the source port (RFC 3581)', async () => {
    const msg = rawRequest('OPTIONS', `sip:127.0.0.1:${server.sipPort}`, 5999, '', '', 'rport-test').replace(
      `127.0.0.1:5999;branch`,
      `10.9.9.9:5999;branch`,
    );
    raw.send(msg, server.sipPort);
    const res = await raw.waitFor(/Call-ID: rport-test/);
    expect(res).toMatch(/received=127\.0\.0\.1/);
    expect(res).toMatch(new RegExp(`rport=${raw.port}`));
  });

  it('a malformed request gets 400; garbage is dropped; the server stays up', async () => {
    const dropped = server.stack.counters.dropped;
    raw.send(
      'INVITE sip:9000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKbad\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:9000@127.0.0.1>\r\nCall-ID: bad-1\r\nCSeq: notanumber INVITE\r\nContent-Length: 0\r\n\r\n'.replace(
        '127.0.0.1:1',
        `127.0.0.1:${raw.port}`,
      ),
      server.sipPort,
    );
    await raw.waitFor(/^SIP\/2\.0 400[\s\S]*Call-ID: bad-1/);
    raw.send(Buffer.from([0, 1, 2, 3, 255, 254, 13, 10]), server.sipPort);
    await eventually(() => server.stack.counters.dropped > dropped, 2000, 'drop counted');
    raw.send(
      rawRequest('OPTIONS', `sip:127.0.0.1:${server.sipPort}`, raw.port, '', '', 'alive'),
      server.sipPort,
    );
    await raw.waitFor(/Call-ID: alive/);
  });

  it('answers a re-INVITE that puts us on hold', async () => {
    const call = await alice.call('9001', { port: server.sipPort });
    const hold = `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${call.rtp.localPort} RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n`;
    const res = await call.session.reinvite(hold);
    expect(res?.status).toBe(200);
    expect(res?.body.toString()).toMatch(/a=recvonly/);
    await call.hangup();
  });

  it('answers UPDATE in a dialog (RFC 3311: a session refresh without SDP gets 200)', async () => {
    const call = await alice.call('9001', { port: server.sipPort });
    const req = alice.ua.inDialogRequest(call.session, 'UPDATE');
    const res = await new Promise<number>((resolve) =>
      alice.stack.sendRequest(req, call.session.dialog.flow, {
        onResponse: (r) => r.status >= 200 && resolve(r.status),
        onTimeout: () => resolve(0),
      }),
    );
    expect(res).toBe(200);
    await call.hangup();
  });

  it('a failed call is reported as a typed result, never a throw', async () => {
    const err = await alice.call('0000', { port: server.sipPort }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallFailed);
  });

  it('plays tones with the expected frequencies', () => {
    const src = toneSource('ringback');
    const out = new Int16Array(160);
    expect(src.read(out)).toBe(true);
  });

  it('after 200 calls every RTP port is back in the pool and no timer is left', async () => {
    const free = server.pool.free;
    for (let batch = 0; batch < 20; batch++) {
      const calls = await Promise.all(
        Array.from({ length: 10 }, () => alice.call('9001', { port: server.sipPort })),
      );
      await sleep(30);
      await Promise.all(calls.map((c) => c.hangup()));
    }
    await eventually(() => server.engine.activeLegs === 0, 5000, 'all legs ended').catch((e: unknown) => {
      console.log([...server.engine.legs].map((l) => [l.id, l.state, l.localNumber, l.session?.state]));
      throw e;
    });
    await eventually(() => server.ua.sessionCount === 0, 5000, 'all dialogs gone');
    expect(server.pool.free).toBe(free);
    // Transaction timers (K, J, D) run out at 64·T1 with the test timers.
    await eventually(() => server.clock.pending() === 0, 10_000, 'no timer left');
    expect(server.stack.activeTransactions).toBe(0);
    expect(server.mediaClock.size).toBe(0);
  }, 60_000);
});

describe('Record-Route (RFC 3261 §12.1.1, §12.2.1.1)', () => {
  it('copies Record-Route into the 200 and sends in-dialog requests with the route set', async () => {
    const server = await startServer();
    const raw = await RawSip.open();
    try {
      const rr = `<sip:proxy.invalid;lr>, <sip:127.0.0.1:${raw.port};lr>`;
      const sdp =
        'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
      const invite = rawRequest(
        'INVITE',
        `sip:9001@127.0.0.1:${server.sipPort}`,
        raw.port,
        `Record-Route: ${rr}\r\nContact: <sip:raw@127.0.0.1:${raw.port}>\r\nContent-Type: application/sdp\r\n`,
        sdp,
        'rr-test',
      );
      raw.send(invite, server.sipPort);
      const ok = await raw.waitFor(/^SIP\/2\.0 200[\s\S]*Call-ID: rr-test/);
      expect(ok).toMatch(/Record-Route: <sip:proxy\.invalid;lr>/);
      const toTag = /\r\nTo: [^\r\n]*;tag=([^;\r\n]+)/i.exec(ok)?.[1] ?? '';
      raw.send(
        `ACK sip:9001@127.0.0.1:${server.sipPort} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${raw.port};branch=z9hG4bKackrr\r\nMax-Forwards: 70\r\nFrom: <sip:raw@127.0.0.1>;tag=r1\r\nTo: <sip:9001@127.0.0.1:${server.sipPort}>;tag=${toTag}\r\nCall-ID: rr-test\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n`,
        server.sipPort,
      );
      await eventually(
        () => server.engine.activeLegs === 1 && [...server.engine.legs][0]?.state === 'answered',
        3000,
        'call up',
      );
      // The server hangs up (shutdown): its BYE carries the route set as Route headers, in order.
      void server.stop();
      const bye = await raw.waitFor(/^BYE [\s\S]*Call-ID: rr-test/, 3000);
      const routes = [...bye.matchAll(/\r\nRoute: ([^\r\n]+)/gi)].map((m) => m[1]);
      expect(routes.join(', ')).toBe(rr);
    } finally {
      raw.close();
      await server.stop();
    }
  });
});

describe('diagnostic numbers switched off (the default)', () => {
  it('9000–9002 are unknown numbers: 404, no port taken', async () => {
    const server = await startServer({ diagnostics: false });
    const caller = await phone({ number: '+79001112299' });
    try {
      for (const n of ['9000', '9001', '9002'])
        await expect(caller.call(n, { port: server.sipPort })).rejects.toMatchObject({ status: 404 });
      expect(server.pool.free).toBe(server.pool.capacity);
      expect(server.engine.activeLegs).toBe(0);
    } finally {
      await caller.close();
      await server.stop();
    }
  });
});
