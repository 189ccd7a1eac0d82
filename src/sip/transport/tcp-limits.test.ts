/**
 * The TCP listener's resource limits over real loopback sockets: caps on
 * connections (total, per source address) and the idle timeout, where only a
 * complete message or an RFC 5626 keep-alive counts as activity.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpTransport, type TcpLimits } from './tcp.ts';
import { until as untilWithin } from '../../util/testing.ts';

const until = (check: () => boolean, what: string): Promise<void> => untilWithin(check, what, 5000, 10);

const OPTIONS =
  'OPTIONS sip:9001@127.0.0.1 SIP/2.0\r\n' +
  'Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKtl\r\n' +
  'Call-ID: tl@127.0.0.1\r\n' +
  'CSeq: 1 OPTIONS\r\n' +
  'Content-Length: 0\r\n\r\n';

interface Client {
  socket: net.Socket;
  closed: boolean;
  received: string;
}

async function connect(port: number, localAddress = '127.0.0.1'): Promise<Client> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  const c: Client = { socket, closed: false, received: '' };
  socket.on('data', (d: Buffer) => (c.received += d.toString('latin1')));
  socket.on('close', () => (c.closed = true));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  return c;
}

describe('TCP transport limits', () => {
  const open: { t?: TcpTransport; clients: Client[] } = { clients: [] };
  const start = async (limits: Partial<TcpLimits>): Promise<TcpTransport> => {
    open.t = await TcpTransport.listen('127.0.0.1', 0, limits);
    return open.t;
  };

  afterEach(async () => {
    for (const c of open.clients.splice(0)) c.socket.destroy();
    await open.t?.close();
    open.t = undefined;
  });

  it('closes connections beyond the per-source cap at once and counts them', async () => {
    const t = await start({ maxPerSource: 3 });
    for (let i = 0; i < 5; i++) open.clients.push(await connect(t.local.port));
    await until(() => open.clients.filter((c) => c.closed).length === 2, 'two refused');
    expect(t.stats).toMatchObject({ accepted: 3, refusedPerSource: 2, refusedTotal: 0 });
    expect(t.connectionCount).toBe(3);
    // Another source address is not affected.
    open.clients.push(await connect(t.local.port, '127.0.0.2'));
    await until(() => t.stats.accepted === 4, 'the other source accepted');
    // A refused slot comes back when one of the three closes.
    open.clients[0]?.socket.destroy();
    await until(() => t.connectionCount === 3, 'one closed');
    const again = await connect(t.local.port);
    open.clients.push(again);
    await until(() => t.stats.accepted === 5, 'accepted again');
    expect(again.closed).toBe(false);
  });

  it('closes connections beyond the total cap, whatever their source', async () => {
    const t = await start({ maxConnections: 4, maxPerSource: 0 });
    for (let i = 2; i <= 6; i++) open.clients.push(await connect(t.local.port, `127.0.0.${i}`));
    await until(() => open.clients.some((c) => c.closed), 'one refused');
    expect(t.stats).toMatchObject({ accepted: 4, refusedTotal: 1, refusedPerSource: 0 });
    expect(open.clients.filter((c) => c.closed)).toHaveLength(1);
  });

  it('idle timeout: keep-alives and messages count, a trickle of bytes does not', async () => {
    const t = await start({ idleMs: 600 });
    t.onData = () => {};
    const idle = await connect(t.local.port);
    const pinger = await connect(t.local.port);
    const talker = await connect(t.local.port);
    const trickler = await connect(t.local.port);
    open.clients.push(idle, pinger, talker, trickler);
    let sent = 0;
    const timer = setInterval(() => {
      if (!pinger.closed) pinger.socket.write('\r\n\r\n');
      if (!talker.closed) talker.socket.write(OPTIONS);
      if (!trickler.closed) trickler.socket.write(OPTIONS[sent++ % OPTIONS.length] ?? 'x');
    }, 100);
    try {
      await until(() => idle.closed && trickler.closed, 'the idle and the trickling connection to close');
      expect(pinger.closed).toBe(false);
      expect(talker.closed).toBe(false);
      expect(t.stats.idleClosed).toBe(2);
      // RFC 5626 §4.4.1: each ping is answered with a pong.
      expect(pinger.received).toMatch(/^(\r\n)+$/);
      expect(t.stats.keepAlives).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
    }
    // Once the pings stop, that connection goes too.
    await until(() => pinger.closed && talker.closed, 'the silent ones to close');
    expect(t.stats.idleClosed).toBe(4);
  });

  it('a held flow (a registration lives on it) survives idleness', async () => {
    const t = await start({ idleMs: 200 });
    const held = await connect(t.local.port);
    const other = await connect(t.local.port);
    open.clients.push(held, other);
    await until(() => t.connectionCount === 2, 'both accepted');
    t.holdOpen({ transport: 'tcp', address: '127.0.0.1', port: held.socket.localPort ?? 0 }, 60_000);
    await until(() => other.closed, 'the other to close');
    expect(held.closed).toBe(false);
  });
});
