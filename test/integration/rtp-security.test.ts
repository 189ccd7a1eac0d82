import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { promptPath } from '../../src/call/prompts.ts';
import { encodeFrame } from '../../src/media/codec/g711.ts';
import { writeTelephoneEvent } from '../../src/media/dtmf/rfc4733.ts';
import { writeRtpHeader } from '../../src/media/rtp/packet.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { eventually, phone, sleep, startServer } from './harness.ts';
import { SALES, answerAgent, makeReady, startWithTrunk, waitConnected } from './acd-helpers.ts';
import { ACCEPT_HZ, VOICE, hears } from './hearing.ts';
import { SERVER_RTP } from './ports.ts';

/**
 * RTP bleed and injection (Asterisk CVE-2017-14099 class) over real sockets: a third party
 * that knows a leg's port sends valid RTP with its own SSRC; it must get nothing back and
 * be heard by no one, and its RFC 4733 events must not count as keys.
 */

const ATTACKER_HZ = 2300;

/** A raw UDP socket on loopback that sends forged RTP at a steady rate and records what it gets. */
class RtpBlaster {
  readonly received: { port: number; length: number }[] = [];
  sent = 0;
  private timer: NodeJS.Timeout | undefined;
  private seq = 1000;
  private ts = 50_000;
  private readonly pcm = new Int16Array(160);
  private phase = 0;

  private constructor(readonly socket: dgram.Socket) {
    socket.on('message', (m, rinfo) => this.received.push({ port: rinfo.port, length: m.length }));
  }

  static async open(): Promise<RtpBlaster> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return new RtpBlaster(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** One 20 ms PCMU frame of a tone, as a well-formed RTP packet with this SSRC. */
  private audioPacket(ssrc: number): Buffer {
    for (let i = 0; i < 160; i++) {
      this.pcm[i] = Math.round(8000 * Math.sin(this.phase));
      this.phase += (2 * Math.PI * ATTACKER_HZ) / 8000;
    }
    const b = Buffer.alloc(12 + 160);
    writeRtpHeader(b, 0, 0, false, this.seq++ & 0xffff, this.ts >>> 0, ssrc);
    this.ts += 160;
    encodeFrame('PCMU', this.pcm, b, 12);
    return b;
  }

  /** A complete RFC 4733 event (start, update, three ends) on PT 101. */
  private eventPackets(event: number, ssrc: number): Buffer[] {
    const ts = (this.ts += 1600);
    return [160, 320, 480, 480, 480].map((duration, i) => {
      const b = Buffer.alloc(16);
      writeRtpHeader(b, 0, 101, i === 0, this.seq++ & 0xffff, ts >>> 0, ssrc);
      writeTelephoneEvent(b, 12, event, i >= 2, 10, duration);
      return b;
    });
  }

  /**
   * Every 10 ms (100 packets/s per target) an audio packet to each port; every 300 ms an
   * RFC 4733 `*` (event 10) to the `dtmf` ports.
   */
  start(ports: number[], dtmf: number[] = [], ssrc = 0x0badf00d): void {
    let n = 0;
    this.timer = setInterval(() => {
      for (const p of ports) this.send(this.audioPacket(ssrc), p);
      if (++n % 30 === 0) for (const p of dtmf) for (const b of this.eventPackets(10, ssrc)) this.send(b, p);
    }, 10);
  }

  private send(b: Buffer, port: number): void {
    this.sent++;
    this.socket.send(b, port, '127.0.0.1');
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    this.stop();
    this.socket.close();
  }
}

async function droppedMetric(server: Server): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
  const m = /^agentline_rtp_dropped_packets_total\{reason="source"\} (\d+)$/m.exec(text);
  if (!m) throw new Error('no agentline_rtp_dropped_packets_total{reason="source"}');
  return Number(m[1]);
}

describe('RTP from a third party during a bridged call', () => {
  let server: Server;
  let trunk: TestPhone;
  let customerPhone: TestPhone;
  let customer: PhoneCall;
  let agent: PhoneCall;
  let blaster: RtpBlaster | undefined;

  async function connected(): Promise<void> {
    ({ server, trunk } = await startWithTrunk({ sipT1: 25 }));
    await makeReady(server, '1001');
    customerPhone = await phone({ number: '+79161112233' });
    customer = await customerPhone.call(SALES, { port: server.sipPort });
    ({ call: agent } = await answerAgent(trunk, '1001'));
    await waitConnected(server, '1001');
    customer.send(new SineSource(VOICE.customer, 20_000));
    agent.send(new SineSource(VOICE.agent, 20_000));
    await hears(agent, VOICE.customer);
    await hears(customer, VOICE.agent);
  }

  /** The server's RTP ports of the two legs: where each phone sends. */
  function legPorts(): { customerLeg: number; agentLeg: number } {
    const customerLeg = customer.rtp.remote?.port;
    const agentLeg = agent.rtp.remote?.port;
    if (!customerLeg || !agentLeg) throw new Error('no remote');
    return { customerLeg, agentLeg };
  }

  afterEach(async () => {
    blaster?.close();
    blaster = undefined;
    await customerPhone?.close();
    await trunk?.close();
    await eventually(() => server.engine.activeLegs === 0, 5000, 'legs released');
    expect(server.pool.free).toBe(server.pool.capacity);
    await server.stop();
  });

  it('the attacker gets no voice, nobody hears it, its `*` opens no menu, and the drops are counted', async () => {
    await connected();
    const { customerLeg, agentLeg } = legPorts();
    const before = await droppedMetric(server);
    const legs = [...server.engine.legs];
    const legDrops = (): number => legs.reduce((n, l) => n + l.mediaSession.stats().sourceDropped, 0);

    blaster = await RtpBlaster.open();
    customer.recorder.clear();
    agent.recorder.clear();
    blaster.start([customerLeg, agentLeg], [agentLeg]);
    await sleep(3000);
    blaster.stop();
    const sent = blaster.sent;
    await eventually(() => legDrops() >= sent * 0.9, 3000, 'drops counted');

    // About 600 audio packets and 50 events sent; not one packet came back.
    expect(sent).toBeGreaterThan(300);
    expect(blaster.received).toEqual([]);
    // Nobody heard the attacker, and the call went on as before.
    expect(agent.recorder.heardTone(ATTACKER_HZ, 100)).toBe(false);
    expect(customer.recorder.heardTone(ATTACKER_HZ, 100)).toBe(false);
    expect(agent.recorder.heardTone(VOICE.customer, 1000)).toBe(true);
    expect(customer.recorder.heardTone(VOICE.agent, 1000)).toBe(true);
    // The injected `*` did not open the agent's menu: no accept beep, customer not on hold.
    expect(agent.recorder.heardTone(ACCEPT_HZ, 60)).toBe(false);
    expect(server.acd.liveCalls[0]?.inCall?.state).toBe('talking');
    await hears(customer, VOICE.agent);
    // Counted per leg and on /metrics.
    for (const l of legs) expect(l.mediaSession.stats().sourceDropped).toBeGreaterThan(0);
    expect((await droppedMetric(server)) - before).toBeGreaterThanOrEqual(sent * 0.9);

    // The agent's own `*` still works.
    agent.recorder.clear();
    agent.sendDtmf('*');
    await agent.waitForTone(ACCEPT_HZ, 3000, 60);
    await eventually(() => server.acd.liveCalls[0]?.inCall?.state === 'menu', 2000, 'menu open');
    await customer.hangup();
  });

  it('a phone that changes its SSRC mid-call, from its own address, is still heard', async () => {
    await connected();
    const before = customer.rtp.ssrc;
    customer.changeSsrc();
    expect(customer.rtp.ssrc).not.toBe(before);
    await hears(agent, VOICE.customer);
    agent.changeSsrc();
    await hears(customer, VOICE.agent);
    for (const l of server.engine.legs) expect(l.mediaSession.stats().sourceDropped).toBe(0);
    await customer.hangup();
  });
});

describe('a stale sender on a reused port (after a crash and restart)', () => {
  it('a new call on that port gets its prompts; the stale sender gets nothing', async () => {
    // Three RTP port pairs only (two would all be the anonymous callers' port reserve), every
    // one blasted by "a phone from before the crash".
    const max = SERVER_RTP.max; // odd: pairs max-5/max-4, max-3/max-2 and max-1/max
    const ports = [max - 5, max - 3, max - 1];
    const stale = await RtpBlaster.open();
    stale.start(ports);
    const server = await startServer({ rtpPorts: `${max - 5}-${max}` });
    const caller = await phone({ number: '+79001234567' });
    try {
      expect(server.pool.capacity).toBe(3);
      const call = await caller.call('9000', { port: server.sipPort });
      expect(ports).toContain(call.rtp.remote?.port);
      await call.waitForPrompt(promptPath('ru', 'enter_digits'));
      expect(stale.received).toEqual([]);
      const leg = [...server.engine.legs][0];
      expect(leg?.mediaSession.stats().sourceDropped).toBeGreaterThan(0);
      expect(leg?.mediaSession.stats().remote).toEqual({ host: '127.0.0.1', port: call.rtp.localPort });
      await call.hangup();
      await eventually(() => server.engine.activeLegs === 0, 3000, 'leg released');
    } finally {
      stale.close();
      await caller.close();
      await server.stop();
    }
  });
});
