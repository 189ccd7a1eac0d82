/**
 * One contract, every transport (UDP, TCP, TLS): listen on an ephemeral loopback
 * port, deliver whole messages with the peer's literal address, answer a peer
 * on the flow it came from, report failures through onError, close cleanly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StreamTransport, TcpTransport } from './tcp.ts';
import { TlsTransport, type TlsMaterial } from './tls.ts';
import type { Endpoint, Transport, TransportName } from './transport.ts';
import { UdpTransport } from './udp.ts';
import { until } from '../../util/testing.ts';

const message = (method: string, body = ''): Buffer =>
  Buffer.from(
    `${method} sip:9001@127.0.0.1 SIP/2.0\r\n` +
      'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKtp\r\n' +
      'Call-ID: tp@127.0.0.1\r\n' +
      'CSeq: 1 OPTIONS\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );

/** The committed test CA and its server certificate for 127.0.0.1 (scripts/make-test-certs.sh). */
const TLS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/tls');
const TEST_TLS: TlsMaterial = {
  cert: readFileSync(path.join(TLS_DIR, 'server.crt')),
  key: readFileSync(path.join(TLS_DIR, 'server.key')),
  ca: readFileSync(path.join(TLS_DIR, 'ca.crt')),
};

const IMPLEMENTATIONS: Record<TransportName, (host: string, port: number) => Promise<Transport>> = {
  udp: (h, p) => UdpTransport.listen(h, p),
  tcp: (h, p) => TcpTransport.listen(h, p),
  tls: (h, p) => TlsTransport.listen(h, p, TEST_TLS),
};

for (const [name, listen] of Object.entries(IMPLEMENTATIONS) as [
  TransportName,
  (h: string, p: number) => Promise<Transport>,
][]) {
  describe(`${name.toUpperCase()} transport contract`, () => {
    const open: Transport[] = [];
    const start = async (): Promise<{
      t: Transport;
      got: { data: Buffer; from: Endpoint }[];
      errors: Error[];
    }> => {
      const t = await listen('127.0.0.1', 0);
      open.push(t);
      const got: { data: Buffer; from: Endpoint }[] = [];
      const errors: Error[] = [];
      t.onData = (data, from) => got.push({ data: Buffer.from(data), from });
      t.onError = (err) => errors.push(err);
      return { t, got, errors };
    };

    afterEach(async () => {
      await Promise.all(open.splice(0).map((t) => t.close()));
    });

    it('listens on an ephemeral loopback port and names itself', async () => {
      const { t } = await start();
      expect(t.name).toBe(name);
      expect(t.local.address).toBe('127.0.0.1');
      expect(t.local.port).toBeGreaterThan(0);
    });

    it('delivers a whole message with the sender as a literal endpoint', async () => {
      const a = await start();
      const b = await start();
      const msg = message('OPTIONS', 'some body');
      a.t.send(msg, { transport: name, address: '127.0.0.1', port: b.t.local.port });
      await until(() => b.got.length === 1, 'the message');
      expect(b.got[0]?.data.equals(msg)).toBe(true);
      expect(b.got[0]?.from.transport).toBe(name);
      expect(b.got[0]?.from.address).toBe('127.0.0.1');
      expect(a.errors).toEqual([]);
    });

    it('a reply to the sender endpoint reaches the sender', async () => {
      const a = await start();
      const b = await start();
      a.t.send(message('OPTIONS'), { transport: name, address: '127.0.0.1', port: b.t.local.port });
      await until(() => b.got.length === 1, 'the request');
      const from = b.got[0]?.from as Endpoint;
      b.t.send(message('NOTIFY'), from);
      await until(() => a.got.length === 1, 'the reply');
      expect(a.got[0]?.data.toString()).toMatch(/^NOTIFY /);
      if (a.t instanceof StreamTransport && b.t instanceof StreamTransport) {
        // §18.2.2: the same connection both ways, no second one opened.
        expect(a.t.connectionCount).toBe(1);
        expect(b.t.connectionCount).toBe(1);
      }
    });

    it('several messages in a row arrive in order', async () => {
      const a = await start();
      const b = await start();
      const to: Endpoint = { transport: name, address: '127.0.0.1', port: b.t.local.port };
      for (let i = 0; i < 5; i++) a.t.send(message('OPTIONS', `n=${i}`), to);
      await until(() => b.got.length === 5, 'five messages');
      const bodies = b.got.map((g) => g.data.toString().split('\r\n\r\n')[1]);
      if (name !== 'udp') expect(bodies).toEqual(['n=0', 'n=1', 'n=2', 'n=3', 'n=4']);
      else expect([...bodies].sort()).toEqual(['n=0', 'n=1', 'n=2', 'n=3', 'n=4']);
    });

    it('close() resolves, also when called twice', async () => {
      const t = await listen('127.0.0.1', 0);
      await t.close();
      await t.close();
    });
  });
}

describe('TCP transport specifics', () => {
  it('a send to a port nobody listens on is reported through onError, not thrown', async () => {
    const a = await TcpTransport.listen('127.0.0.1', 0);
    const b = await TcpTransport.listen('127.0.0.1', 0);
    const deadPort = b.local.port;
    await b.close();
    const errors: Error[] = [];
    a.onError = (err) => errors.push(err);
    expect(() =>
      a.send(message('OPTIONS'), { transport: 'tcp', address: '127.0.0.1', port: deadPort }),
    ).not.toThrow();
    await until(() => errors.length === 1, 'the connection error');
    expect(errors[0]?.message).toMatch(/ECONNREFUSED/);
    await until(() => a.connectionCount === 0, 'the dead connection to be forgotten');
    await a.close();
  });
});

describe('TLS transport specifics', () => {
  const errorsOf = (t: Transport): Error[] => {
    const errors: Error[] = [];
    t.onError = (err) => errors.push(err);
    return errors;
  };

  it('a peer whose certificate does not verify is never sent to: onError names the TLS error', async () => {
    // The server's certificate is good, but the client trusts only the system CAs.
    const server = await TlsTransport.listen('127.0.0.1', 0, TEST_TLS);
    const got: Buffer[] = [];
    server.onData = (d) => got.push(d);
    const client = await TlsTransport.listen('127.0.0.1', 0, { cert: TEST_TLS.cert, key: TEST_TLS.key });
    const errors = errorsOf(client);
    client.send(message('OPTIONS'), { transport: 'tls', address: '127.0.0.1', port: server.local.port });
    await until(() => errors.length > 0, 'the certificate error');
    expect(errors[0]?.message).toMatch(/certificate/i);
    await until(() => client.connectionCount === 0, 'the failed connection to be forgotten');
    expect(got).toEqual([]);
    await Promise.all([client.close(), server.close()]);
  });

  it('a plain TCP listener is no TLS peer: the handshake fails through onError', async () => {
    const plain = await TcpTransport.listen('127.0.0.1', 0);
    plain.onError = () => {};
    const client = await TlsTransport.listen('127.0.0.1', 0, { ca: TEST_TLS.ca, handshakeMs: 300 });
    expect(client.listening).toBe(false);
    const errors = errorsOf(client);
    client.send(message('OPTIONS'), { transport: 'tls', address: '127.0.0.1', port: plain.local.port });
    await until(() => errors.length > 0, 'the handshake error');
    expect(errors[0]?.message).toMatch(/TLS handshake/);
    await until(() => client.connectionCount === 0, 'the failed connection to be forgotten');
    await Promise.all([client.close(), plain.close()]);
  });

  it('a peer that never finishes its handshake is disconnected at the handshake timeout (no slowloris on the caps)', async () => {
    const server = await TlsTransport.listen('127.0.0.1', 0, { ...TEST_TLS, handshakeMs: 200 });
    const errors = errorsOf(server);
    const raw = net.connect(server.local.port, '127.0.0.1');
    raw.on('error', () => {});
    // Before, the timeout was reported (tlsClientError) but the socket stayed open for good.
    await new Promise<void>((r) => raw.once('close', () => r()));
    expect(errors[0]?.message).toMatch(/TLS handshake/);
    await until(() => server.stats.accepted === 1, 'the accept to be counted');
    await server.close();
  });

  it('close() also closes connections still in their handshake (a peer that never sends a ClientHello)', async () => {
    const server = await TlsTransport.listen('127.0.0.1', 0, TEST_TLS);
    server.onError = () => {};
    const raw = net.connect(server.local.port, '127.0.0.1');
    raw.on('error', () => {});
    const closed = new Promise<void>((r) => raw.once('close', () => r()));
    await until(() => server.stats.accepted === 1, 'the connection to be accepted');
    // Before, only handshaken connections were closed: close() waited for the 10 s handshake timeout.
    await server.close();
    await closed;
    expect(raw.destroyed).toBe(true);
  });

  it('the TCP caps apply before the handshake: beyond the per-source cap a connection is closed unencrypted', async () => {
    const server = await TlsTransport.listen('127.0.0.1', 0, TEST_TLS, { maxPerSource: 1 });
    server.onError = () => {};
    const a = await TlsTransport.listen('127.0.0.1', 0, { ca: TEST_TLS.ca });
    const b = await TlsTransport.listen('127.0.0.1', 0, { ca: TEST_TLS.ca });
    const got: Buffer[] = [];
    server.onData = (d) => got.push(d);
    const bErrors = errorsOf(b);
    a.send(message('OPTIONS'), { transport: 'tls', address: '127.0.0.1', port: server.local.port });
    await until(() => got.length === 1, 'the first message');
    b.send(message('OPTIONS'), { transport: 'tls', address: '127.0.0.1', port: server.local.port });
    await until(() => bErrors.length > 0, 'the second connection to be refused');
    expect(server.stats).toMatchObject({ accepted: 1, refusedPerSource: 1 });
    expect(got).toHaveLength(1);
    await Promise.all([a.close(), b.close(), server.close()]);
  });
});
