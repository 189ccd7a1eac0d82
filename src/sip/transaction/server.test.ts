/**
 * RFC 3261 §17.2 server transactions on a FakeClock: the INVITE machine
 * (§17.2.1: timers G, H, I) and the non-INVITE machine (§17.2.2: timer J), for
 * UDP and for a reliable transport, with a fake `send` that records what left
 * and when.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../util/fake-clock.ts';
import { buildResponse } from '../message/build.ts';
import type { SipRequest } from '../message/types.ts';
import type { Endpoint, TransportName } from '../transport/transport.ts';
import { SERVER_TX_TRANSITIONS, ServerTransaction } from './server.ts';
import { TIMERS, expectEveryMove, expectTerminated, fixtureRequest, moveRecorder } from './test-helpers.ts';

const { t1: T1, t2: T2, t4: T4 } = TIMERS;

function request(method: string, cseqMethod = method): SipRequest {
  return fixtureRequest(method, {
    via: 'branch=z9hG4bKserver1;rport=5070',
    callId: 'stx-test@127.0.0.1',
    cseqMethod,
  });
}

interface Sent {
  at: number;
  status: number;
  to: Endpoint;
}

function harness(method: string, transport: TransportName = 'udp') {
  const clock = new FakeClock();
  const sent: Sent[] = [];
  const events = { timeouts: 0, terminated: 0, acks: 0 };
  const req = request(method);
  const source: Endpoint = { transport, address: '127.0.0.1', port: 5070 };
  const tx = new ServerTransaction(`z9hG4bKserver1|127.0.0.1:5070|${method}`, req, source, source, {
    clock,
    timers: TIMERS,
    send: (res, to) => sent.push({ at: clock.now(), status: res.status, to }),
    onTerminated: () => events.terminated++,
  });
  tx.onTimeout = () => events.timeouts++;
  tx.onAck = () => events.acks++;
  const respond = (status: number): void =>
    tx.respond(buildResponse(req, status, { toTag: status > 100 ? 'lt' : undefined }));
  const times = (status?: number): number[] =>
    sent.filter((s) => status === undefined || s.status === status).map((s) => s.at);
  return { clock, sent, events, tx, req, respond, times };
}

describe('server INVITE transaction (§17.2.1)', () => {
  describe('Proceeding', () => {
    it('starts in Proceeding; a retransmitted INVITE resends the most recent provisional', () => {
      const h = harness('INVITE');
      expect(h.tx.state).toBe('proceeding');
      h.tx.receive(h.req); // nothing sent yet: nothing to resend
      expect(h.sent).toEqual([]);
      h.respond(100);
      h.clock.advance(300);
      h.respond(180);
      h.clock.advance(200);
      h.tx.receive(h.req);
      expect(h.sent.map((s) => [s.at, s.status])).toEqual([
        [0, 100],
        [300, 180],
        [500, 180],
      ]);
      expect(h.tx.state).toBe('proceeding');
      expect(h.clock.pending()).toBe(0); // no timer runs in Proceeding
    });

    it('provisional responses go to the response target', () => {
      const h = harness('INVITE');
      h.respond(180);
      expect(h.sent[0]?.to).toEqual({ transport: 'udp', address: '127.0.0.1', port: 5070 });
    });
  });

  describe('a 2xx from the TU', () => {
    it('is sent and terminates the transaction at once (the UA core retransmits it)', () => {
      const h = harness('INVITE');
      h.respond(180);
      h.respond(200);
      expect(h.tx.state).toBe('terminated');
      expect(h.events.terminated).toBe(1);
      expect(h.times(200)).toEqual([0]);
      expect(h.clock.pending()).toBe(0);
      h.clock.advance(64 * T1);
      expect(h.sent).toHaveLength(2);
    });
  });

  describe('Completed over UDP: Timer G', () => {
    it('retransmits the final at T1, 2T1, 4T1, then every T2 until the ACK', () => {
      const h = harness('INVITE');
      h.respond(486);
      expect(h.tx.state).toBe('completed');
      h.clock.advance(T1 + 2 * T1 + 4 * T1 + 2 * T2);
      expect(h.times(486)).toEqual([0, 500, 1500, 3500, 7500, 11500]);
      h.tx.receive({ ...h.req, method: 'ACK' });
      expect(h.tx.state).toBe('confirmed');
      expect(h.events.acks).toBe(1);
      h.clock.advance(T2);
      expect(h.times(486)).toHaveLength(6);
    });

    it('a retransmitted INVITE resends the final response', () => {
      const h = harness('INVITE');
      h.respond(603);
      h.clock.advance(100);
      h.tx.receive(h.req);
      expect(h.times(603)).toEqual([0, 100]);
    });

    it('further responses from the TU are ignored', () => {
      const h = harness('INVITE');
      h.respond(486);
      h.respond(200);
      expect(h.sent.map((s) => s.status)).toEqual([486]);
      expect(h.tx.state).toBe('completed');
    });
  });

  describe('Completed: Timer H', () => {
    it('no ACK within 64·T1: onTimeout, Terminated, no timer left (UDP)', () => {
      const h = harness('INVITE');
      h.respond(404);
      h.clock.advance(64 * T1 - 1);
      expect(h.tx.state).toBe('completed');
      expect(h.events.timeouts).toBe(0);
      h.clock.advance(1);
      expect(h.events.timeouts).toBe(1);
      expect(h.tx.state).toBe('terminated');
      expect(h.events.terminated).toBe(1);
      expect(h.clock.pending()).toBe(0);
      const count = h.sent.length;
      h.clock.advance(10 * T2);
      h.tx.receive(h.req);
      expect(h.sent).toHaveLength(count);
    });

    it('over TCP: no Timer G, Timer H still 64·T1', () => {
      const h = harness('INVITE', 'tcp');
      h.respond(404);
      h.clock.advance(64 * T1 - 1);
      expect(h.times(404)).toEqual([0]);
      h.clock.advance(1);
      expect(h.events.timeouts).toBe(1);
      expectTerminated(h);
    });
  });

  describe('Confirmed: Timer I', () => {
    it('over UDP: the ACK stops G and H; further ACKs absorbed; Terminated after T4', () => {
      const h = harness('INVITE');
      h.respond(480);
      h.clock.advance(T1);
      const ack = { ...h.req, method: 'ACK' };
      h.tx.receive(ack);
      expect(h.tx.state).toBe('confirmed');
      h.tx.receive(ack);
      h.tx.receive(h.req); // a stray INVITE retransmission is absorbed too
      expect(h.events.acks).toBe(1);
      expect(h.times(480)).toEqual([0, T1]);
      expect(h.clock.pending()).toBe(1); // only Timer I
      h.clock.advance(T4 - 1);
      expect(h.tx.state).toBe('confirmed');
      h.clock.advance(1);
      expect(h.tx.state).toBe('terminated');
      expect(h.events).toEqual({ timeouts: 0, terminated: 1, acks: 1 });
      expect(h.clock.pending()).toBe(0);
    });

    it('over TCP: Timer I is zero', () => {
      const h = harness('INVITE', 'tcp');
      h.respond(480);
      h.tx.receive({ ...h.req, method: 'ACK' });
      expect(h.tx.state).toBe('confirmed');
      h.clock.advance(0);
      expectTerminated(h);
    });
  });

  it('an ACK before any final response is ignored', () => {
    const h = harness('INVITE');
    h.tx.receive({ ...h.req, method: 'ACK' });
    expect(h.tx.state).toBe('proceeding');
    expect(h.events.acks).toBe(0);
  });

  it('a transport error terminates and clears the timers', () => {
    const h = harness('INVITE');
    h.respond(486);
    h.tx.transportError();
    expectTerminated(h);
  });
});

describe('server non-INVITE transaction (§17.2.2)', () => {
  describe('Trying', () => {
    it('starts in Trying; retransmissions are absorbed with nothing sent', () => {
      const h = harness('OPTIONS');
      expect(h.tx.state).toBe('trying');
      h.tx.receive(h.req);
      expect(h.sent).toEqual([]);
      expect(h.clock.pending()).toBe(0);
    });
  });

  describe('Proceeding', () => {
    it('a provisional moves to Proceeding; a retransmission resends it', () => {
      const h = harness('BYE');
      h.respond(100);
      expect(h.tx.state).toBe('proceeding');
      h.clock.advance(50);
      h.tx.receive(h.req);
      expect(h.sent.map((s) => [s.at, s.status])).toEqual([
        [0, 100],
        [50, 100],
      ]);
    });
  });

  describe('Completed: Timer J', () => {
    it('over UDP: a retransmitted request resends the final; Terminated after 64·T1', () => {
      const h = harness('OPTIONS');
      h.respond(200);
      expect(h.tx.state).toBe('completed');
      h.clock.advance(1000);
      h.tx.receive(h.req);
      h.clock.advance(1000);
      h.tx.receive(h.req);
      expect(h.times(200)).toEqual([0, 1000, 2000]);
      h.respond(500); // the TU cannot change its mind
      expect(h.sent).toHaveLength(3);
      h.clock.advance(64 * T1 - 2000 - 1);
      expect(h.tx.state).toBe('completed');
      h.clock.advance(1);
      expect(h.tx.state).toBe('terminated');
      expect(h.events).toEqual({ timeouts: 0, terminated: 1, acks: 0 });
      expect(h.clock.pending()).toBe(0);
      h.tx.receive(h.req);
      expect(h.sent).toHaveLength(3);
    });

    it('the final is not retransmitted on its own (no Timer G for non-INVITE)', () => {
      const h = harness('BYE');
      h.respond(481);
      h.clock.advance(64 * T1);
      expect(h.times()).toEqual([0]);
      expect(h.tx.state).toBe('terminated');
    });

    it('over TCP: Timer J is zero', () => {
      const h = harness('OPTIONS', 'tcp');
      h.respond(200);
      expect(h.tx.state).toBe('completed');
      h.clock.advance(0);
      expect(h.tx.state).toBe('terminated');
      expect(h.events.terminated).toBe(1);
      expect(h.clock.pending()).toBe(0);
    });
  });

  it('destroy() terminates at once and leaves no timer', () => {
    const h = harness('OPTIONS');
    h.respond(200);
    h.tx.destroy();
    expectTerminated(h);
  });
});

describe('server transaction table (SERVER_TX_TRANSITIONS)', () => {
  it('every allowed move is reached through the transaction itself; a move out of Terminated is refused', () => {
    const moves = new Set<string>();
    const run = moveRecorder((method: string) => harness(method), moves);
    run('INVITE', (h) => h.respond(200)); // proceeding>terminated
    run('INVITE', (h) => {
      h.respond(486); // proceeding>completed
      h.clock.advance(64 * T1); // Timer H: completed>terminated
    });
    run('INVITE', (h) => {
      h.respond(486);
      h.tx.receive({ ...h.req, method: 'ACK' }); // completed>confirmed
      h.clock.advance(T4); // Timer I: confirmed>terminated
    });
    run('OPTIONS', (h) => h.respond(100)); // trying>proceeding
    run('OPTIONS', (h) => h.respond(200)); // trying>completed
    const last = run('OPTIONS', (h) => h.tx.transportError()); // trying>terminated
    expectEveryMove(SERVER_TX_TRANSITIONS, moves);

    moves.clear();
    last.tx.transportError(); // terminated>terminated is not in the table
    expect(moves.size).toBe(0);
    expect(last.events.terminated).toBe(1);
    expectTerminated(last);
  });
});
