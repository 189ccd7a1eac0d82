/**
 * SipStack over real loopback sockets (RFC 3261 §17, §18; RFC 3581): the
 * transaction layer absorbs retransmissions, responses follow §18.2.2 (source
 * address, rport, received=), and the TCP transport frames by Content-Length.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../util/fake-clock.ts';
import { buildResponse } from './message/build.ts';
import { getHeader, parseVia } from './message/headers.ts';
import { frameStream, parseMessage } from './message/parse.ts';
import { serializeMessage } from './message/serialize.ts';
import type { SipRequest, SipResponse } from './message/types.ts';
import { SipStack, type IncomingRequest } from './stack.ts';
import type { TcpTransport } from './transport/tcp.ts';
import type { UdpTransport } from './transport/udp.ts';
import { listenUdpAndTcp } from './transport/listen.ts';
import { parseOrThrow as parse } from './message/testing.ts';
import { quiet, sleep, until } from '../util/testing.ts';

let seq = 0;
function requestText(method: string, via: string, body = '', extra = ''): string {
  seq++;
  return (
    `${method} sip:9001@127.0.0.1 SIP/2.0\r\n` +
    `Via: ${via}\r\n` +
    'Max-Forwards: 70\r\n' +
    `From: <sip:7900@127.0.0.1>;tag=f${seq}\r\n` +
    'To: <sip:9001@127.0.0.1>\r\n' +
    `Call-ID: stack-${seq}@127.0.0.1\r\n` +
    `CSeq: ${seq} ${method}\r\n` +
    extra +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
    body
  );
}

const branch = (): string => `z9hG4bK${Math.random().toString(36).slice(2)}`;

function asResponse(buf: Buffer | undefined): SipResponse {
  if (!buf) throw new Error('no message');
  const m = parse(buf);
  if (m.kind !== 'response') throw new Error('expected a response');
  return m;
}

/** A UDP socket on loopback that keeps what it receives. */
async function udpPeer(): Promise<{
  socket: dgram.Socket;
  port: number;
  got: Buffer[];
  send(text: string, port: number): void;
}> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  return {
    socket,
    port: socket.address().port,
    got,
    send: (text, port) => socket.send(Buffer.from(text, 'latin1'), port, '127.0.0.1'),
  };
}

/** A TCP connection to the stack that splits what comes back into messages. */
async function tcpPeer(
  port: number,
): Promise<{ socket: net.Socket; messages: Buffer[]; closed: () => boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  const messages: Buffer[] = [];
  let closed = false;
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const f = frameStream(pending);
      if (f === 'incomplete' || 'error' in f) return;
      if (!f.keepAlive) messages.push(Buffer.from(pending.subarray(0, f.length)));
      pending = pending.subarray(f.length);
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  return { socket, messages, closed: () => closed };
}

describe('SipStack over loopback sockets', () => {
  let udp: UdpTransport;
  let tcp: TcpTransport;
  let stack: SipStack;
  let seen: IncomingRequest[];
  let peers: { close(): void }[];

  beforeEach(async () => {
    ({ udp, tcp } = await listenUdpAndTcp('127.0.0.1', 0));
    stack = new SipStack({
      transports: [udp, tcp],
      clock: new FakeClock(),
      logger: quiet,
      timers: { t1: 500, t2: 4000, t4: 5000 },
    });
    seen = [];
    peers = [];
    // A transaction user that answers every request but ACK with 200.
    stack.onRequest = (incoming) => {
      seen.push(incoming);
      if (incoming.tx) incoming.tx.respond(buildResponse(incoming.request, 200, { toTag: 'uas1' }));
    };
  });

  afterEach(async () => {
    for (const p of peers) p.close();
    await stack.close();
  });

  const openUdp = async (): Promise<Awaited<ReturnType<typeof udpPeer>>> => {
    const p = await udpPeer();
    peers.push({ close: () => p.socket.close() });
    return p;
  };
  const openTcp = async (): Promise<Awaited<ReturnType<typeof tcpPeer>>> => {
    const p = await tcpPeer(tcp.local.port);
    peers.push({ close: () => p.socket.destroy() });
    return p;
  };

  describe('retransmissions (§17.2.3)', () => {
    it('a retransmitted request reaches the TU once; the response is resent', async () => {
      const peer = await openUdp();
      const text = requestText('OPTIONS', `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${branch()};rport`);
      peer.send(text, udp.local.port);
      await until(() => peer.got.length === 1, 'first response');
      peer.send(text, udp.local.port);
      peer.send(text, udp.local.port);
      await until(() => peer.got.length === 3, 'resent responses');
      expect(seen).toHaveLength(1);
      expect(peer.got.map((b) => asResponse(b).status)).toEqual([200, 200, 200]);
      expect(stack.counters.retransmissionsAbsorbed).toBe(2);
      expect(stack.counters.received).toBe(3);
    });

    it('a retransmitted INVITE resends the last provisional', async () => {
      stack.onRequest = (incoming) => {
        seen.push(incoming);
        if (incoming.tx) incoming.tx.respond(buildResponse(incoming.request, 180, { toTag: 'uas1' }));
      };
      const peer = await openUdp();
      const text = requestText('INVITE', `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${branch()};rport`);
      peer.send(text, udp.local.port);
      await until(() => peer.got.length === 1, 'the 180');
      peer.send(text, udp.local.port);
      await until(() => peer.got.length === 2, 'the resent 180');
      expect(seen).toHaveLength(1);
      expect(peer.got.map((b) => asResponse(b).status)).toEqual([180, 180]);
    });

    it('the same branch from another sent-by is a different transaction', async () => {
      const peer = await openUdp();
      const b = branch();
      peer.send(
        requestText('OPTIONS', `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${b};rport`),
        udp.local.port,
      );
      peer.send(
        requestText('OPTIONS', `SIP/2.0/UDP 127.0.0.2:${peer.port};branch=${b};rport`),
        udp.local.port,
      );
      await until(() => peer.got.length === 2, 'two responses');
      expect(seen).toHaveLength(2);
      expect(stack.counters.retransmissionsAbsorbed).toBe(0);
    });

    it('an ACK for a non-2xx is absorbed by the INVITE transaction', async () => {
      stack.onRequest = (incoming) => {
        seen.push(incoming);
        if (incoming.tx) incoming.tx.respond(buildResponse(incoming.request, 486, { toTag: 'uas1' }));
      };
      const peer = await openUdp();
      const b = branch();
      const via = `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${b};rport`;
      const invite = requestText('INVITE', via);
      peer.send(invite, udp.local.port);
      await until(() => peer.got.length === 1, 'the 486');
      const ack = invite.replace(/^INVITE /, 'ACK ').replace(/CSeq: (\d+) INVITE/, 'CSeq: $1 ACK');
      peer.send(ack, udp.local.port);
      await until(() => stack.counters.received === 2, 'the ACK');
      expect(seen.map((s) => s.request.method)).toEqual(['INVITE']);
      expect(stack.activeTransactions).toBe(1); // Confirmed, waiting out Timer I
    });
  });

  describe('UDP response routing (§18.2.2, RFC 3581)', () => {
    it('with rport: to the source address and port, rport filled in', async () => {
      const peer = await openUdp();
      // The sent-by port is wrong on purpose (a NAT rewrote it): rport wins.
      peer.send(requestText('OPTIONS', `SIP/2.0/UDP 127.0.0.1:9;branch=${branch()};rport`), udp.local.port);
      await until(() => peer.got.length === 1, 'the response');
      const via = parseVia(getHeader(asResponse(peer.got[0]), 'via') ?? '');
      expect(via?.params.get('rport')).toBe(String(peer.port));
      expect(via?.params.has('received')).toBe(false); // the host matched the source
      const req = seen[0]?.request as SipRequest;
      expect(parseVia(getHeader(req, 'via') ?? '')?.params.get('rport')).toBe(String(peer.port));
    });

    it('without rport: to the source address at the sent-by port', async () => {
      const sender = await openUdp();
      const listener = await openUdp();
      sender.send(
        requestText('OPTIONS', `SIP/2.0/UDP 127.0.0.1:${listener.port};branch=${branch()}`),
        udp.local.port,
      );
      await until(() => listener.got.length === 1, 'the response at the sent-by port');
      await sleep(30);
      expect(sender.got).toHaveLength(0);
      const via = parseVia(getHeader(asResponse(listener.got[0]), 'via') ?? '');
      expect(via?.params.has('rport')).toBe(false);
    });

    it('received= is added when the Via host differs from the source; the response still goes to the source', async () => {
      const peer = await openUdp();
      peer.send(
        requestText('OPTIONS', `SIP/2.0/UDP phone.invalid:5060;branch=${branch()};rport`),
        udp.local.port,
      );
      await until(() => peer.got.length === 1, 'the response');
      const via = parseVia(getHeader(asResponse(peer.got[0]), 'via') ?? '');
      expect(via?.host).toBe('phone.invalid');
      expect(via?.params.get('received')).toBe('127.0.0.1');
      expect(via?.params.get('rport')).toBe(String(peer.port));
    });

    it('only the top Via is stamped; lower Via lines are kept in order', async () => {
      const peer = await openUdp();
      const text = requestText(
        'OPTIONS',
        `SIP/2.0/UDP 192.0.2.7:5060;branch=${branch()};rport, SIP/2.0/UDP 192.0.2.8;branch=z9hG4bKlower`,
      );
      peer.send(text, udp.local.port);
      await until(() => peer.got.length === 1, 'the response');
      const res = asResponse(peer.got[0]);
      const vias = res.headers.filter((h) => h.name.toLowerCase() === 'via').map((h) => parseVia(h.value));
      expect(vias).toHaveLength(2);
      expect(vias[0]?.params.get('received')).toBe('127.0.0.1');
      expect(vias[1]?.host).toBe('192.0.2.8');
      expect(vias[1]?.params.has('received')).toBe(false);
    });

    it('a malformed request with a usable Via gets a 400 there; without one it is dropped', async () => {
      const peer = await openUdp();
      const bad = requestText(
        'OPTIONS',
        `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=${branch()};rport`,
      ).replace('Content-Length: 0', 'Content-Length: 40');
      peer.send(bad, udp.local.port);
      await until(() => peer.got.length === 1, 'the 400');
      expect(asResponse(peer.got[0]).status).toBe(400);
      expect(stack.counters.badRequests).toBe(1);
      peer.send('garbage\r\n\r\n', udp.local.port);
      await until(() => stack.counters.dropped === 1, 'the drop');
      expect(seen).toHaveLength(0);
    });

    it('a malformed top Via (RFC 4475 §3.1.2.1) gets a 400 at the source address and port', async () => {
      const peer = await openUdp();
      peer.send(requestText('OPTIONS', 'SIP/2.0/UDP 192.0.2.15:5060;;,;,,'), udp.local.port);
      await until(() => peer.got.length === 1, 'the 400');
      // The Via is echoed as it came (so our own parser would refuse the response too).
      const text = peer.got[0]?.toString('latin1') ?? '';
      expect(text).toMatch(/^SIP\/2\.0 400 Malformed Via\r\n/);
      expect(text).toContain('\r\nVia: SIP/2.0/UDP 192.0.2.15:5060;;');
      expect(text).toMatch(/\r\nTo: <sip:9001@127\.0\.0\.1>;tag=\w+\r\n/);
      expect(seen).toHaveLength(0);
      expect(stack.counters.badRequests).toBe(1);
    });

    it('a message over 64 KiB handed up by a transport is dropped and counted', () => {
      udp.onData?.(Buffer.alloc(65537, 0x41), { transport: 'udp', address: '127.0.0.1', port: 5060 });
      expect(stack.counters.dropped).toBe(1);
      expect(seen).toHaveLength(0);
    });
  });

  describe('client transactions over UDP', () => {
    it('matches the response by branch and method and passes it to the TU', async () => {
      const peer = await openUdp();
      const responses: number[] = [];
      const b = branch();
      const r = parseMessage(
        Buffer.from(requestText('OPTIONS', `SIP/2.0/UDP 127.0.0.1:${udp.local.port};branch=${b};rport`)),
      );
      if (!r.ok || r.message.kind !== 'request') throw new Error('bad fixture');
      const tx = stack.sendRequest(
        r.message,
        { transport: 'udp', address: '127.0.0.1', port: peer.port },
        {
          onResponse: (res) => responses.push(res.status),
          onTimeout: () => responses.push(408),
        },
      );
      await until(() => peer.got.length === 1, 'our request');
      const req = parse(peer.got[0] as Buffer) as SipRequest;
      const res = buildResponse(req, 200, { toTag: 'x' });
      peer.socket.send(serializeMessage(res), udp.local.port, '127.0.0.1');
      await until(() => responses.length === 1, 'the TU to see the 200');
      expect(responses).toEqual([200]);
      expect(tx.state).toBe('completed');
      // A response nobody owns goes to onStrayResponse.
      const stray: number[] = [];
      stack.onStrayResponse = (m) => stray.push(m.status);
      const other = {
        ...res,
        headers: res.headers.map((h) =>
          h.name === 'Via' ? { name: 'Via', value: `SIP/2.0/UDP 127.0.0.1;branch=${branch()}` } : h,
        ),
      };
      peer.socket.send(serializeMessage(other), udp.local.port, '127.0.0.1');
      await until(() => stray.length === 1, 'the stray response');
    });
  });

  describe('TCP (§18.3 framing, §18.2.2 same connection)', () => {
    const tcpVia = (): string => `SIP/2.0/TCP 127.0.0.1:5999;branch=${branch()};rport`;

    it('a response goes back over the connection the request came on', async () => {
      const c = await openTcp();
      c.socket.write(requestText('OPTIONS', tcpVia()));
      await until(() => c.messages.length === 1, 'the response on the same connection');
      const res = asResponse(c.messages[0]);
      expect(res.status).toBe(200);
      expect(seen[0]?.source).toMatchObject({
        transport: 'tcp',
        address: '127.0.0.1',
        port: c.socket.localPort,
      });
      expect(parseVia(getHeader(res, 'via') ?? '')?.params.get('rport')).toBe(String(c.socket.localPort));
      expect(tcp.connectionCount).toBe(1);
    });

    it('two messages in one chunk are both delivered and answered', async () => {
      const c = await openTcp();
      c.socket.write(
        requestText('OPTIONS', tcpVia()) +
          requestText('OPTIONS', tcpVia(), 'v=0\r\n', 'Content-Type: application/sdp\r\n'),
      );
      await until(() => c.messages.length === 2, 'two responses');
      expect(seen.map((s) => s.request.method)).toEqual(['OPTIONS', 'OPTIONS']);
      expect(seen[1]?.request.body.toString()).toBe('v=0\r\n');
      expect(c.messages.map((m) => asResponse(m).status)).toEqual([200, 200]);
    });

    it('a message split across chunks (even inside the body) is reassembled', async () => {
      const c = await openTcp();
      const text = requestText('OPTIONS', tcpVia(), 'hello body', 'Content-Type: text/plain\r\n');
      const cuts = [10, text.indexOf('\r\n\r\n') + 2, text.length - 4];
      let from = 0;
      for (const cut of [...cuts, text.length]) {
        c.socket.write(text.slice(from, cut));
        from = cut;
        await sleep(15);
        if (cut < text.length) expect(seen).toHaveLength(0);
      }
      await until(() => c.messages.length === 1, 'the response');
      expect(seen).toHaveLength(1);
      expect(seen[0]?.request.body.toString()).toBe('hello body');
    });

    it('CRLF keep-alives before, between and after messages are skipped', async () => {
      const c = await openTcp();
      c.socket.write('\r\n\r\n');
      await sleep(10);
      c.socket.write(
        requestText('OPTIONS', tcpVia()) + '\r\n\r\n\r\n' + requestText('OPTIONS', tcpVia()) + '\r\n\r\n',
      );
      await until(() => c.messages.length === 2, 'two responses');
      await sleep(20);
      expect(seen).toHaveLength(2);
      expect(stack.counters.dropped).toBe(0);
      expect(c.closed()).toBe(false);
    });

    it('a framed message over 65536 bytes is refused: the connection is closed, the drop counted', async () => {
      const c = await openTcp();
      const body = 'x'.repeat(70_000);
      c.socket.write(requestText('OPTIONS', tcpVia(), body, 'Content-Type: text/plain\r\n'));
      await until(() => c.closed(), 'the server to close the connection');
      expect(seen).toHaveLength(0);
      expect(c.messages).toHaveLength(0);
      expect(stack.counters.dropped).toBeGreaterThanOrEqual(1);
      // The listener itself is fine: a new connection is served.
      const d = await openTcp();
      d.socket.write(requestText('OPTIONS', tcpVia()));
      await until(() => d.messages.length === 1, 'a response on a new connection');
    });

    it('a header section that never ends is refused once past 64 KiB', async () => {
      const c = await openTcp();
      c.socket.write(`OPTIONS sip:9001@127.0.0.1 SIP/2.0\r\nX-Long: ${'y'.repeat(70_000)}`);
      await until(() => c.closed(), 'the server to close the connection');
      expect(seen).toHaveLength(0);
    });

    it('a message without Content-Length on a stream closes the connection', async () => {
      const c = await openTcp();
      c.socket.write(requestText('OPTIONS', tcpVia()).replace(/Content-Length: 0\r\n/, ''));
      await until(() => c.closed(), 'the server to close the connection');
      expect(seen).toHaveLength(0);
      expect(stack.counters.dropped).toBeGreaterThanOrEqual(1);
    });
  });
});
