/**
 * RFC 3261 §17.1 client transactions on a FakeClock: every timer of the INVITE
 * machine (§17.1.1: A, B, D) and the non-INVITE machine (§17.1.2: E, F, K), for
 * UDP and for a reliable transport, with a fake `send` that records what left
 * and when.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../util/fake-clock.ts';
import { buildResponse } from '../message/build.ts';
import type { SipRequest, SipResponse } from '../message/types.ts';
import type { Endpoint, TransportName } from '../transport/transport.ts';
import { CLIENT_TX_TRANSITIONS, ClientTransaction } from './client.ts';
import { TIMERS, expectEveryMove, expectTerminated, fixtureRequest, moveRecorder } from './test-helpers.ts';

const { t1: T1, t2: T2, t4: T4 } = TIMERS;

function request(method: string): SipRequest {
  return fixtureRequest(method, { via: 'branch=z9hG4bKclient1;rport', callId: 'tx-test@127.0.0.1' });
}

interface Sent {
  at: number;
  method: string;
  to: Endpoint;
}

function harness(method: string, transport: TransportName = 'udp') {
  const clock = new FakeClock();
  const sent: Sent[] = [];
  const responses: SipResponse[] = [];
  const events = { timeouts: 0, terminated: 0 };
  const req = request(method);
  const to: Endpoint = { transport, address: '127.0.0.1', port: 5060 };
  const tx = new ClientTransaction(
    `z9hG4bKclient1|${method}`,
    req,
    to,
    {
      onResponse: (res) => responses.push(res),
      onTimeout: () => events.timeouts++,
    },
    {
      clock,
      timers: TIMERS,
      send: (m, dest) => sent.push({ at: clock.now(), method: m.method, to: dest }),
      buildAck: (r) => ({ ...r, method: 'ACK', headers: [...r.headers], body: Buffer.alloc(0) }),
      onTerminated: () => events.terminated++,
    },
  );
  tx.start();
  const reply = (status: number): void =>
    tx.receive(buildResponse(req, status, { toTag: status > 100 ? 'tt' : undefined }));
  const times = (m = method): number[] => sent.filter((s) => s.method === m).map((s) => s.at);
  return { clock, sent, responses, events, tx, reply, times };
}

describe('client INVITE transaction (§17.1.1)', () => {
  describe('Calling over UDP: Timer A', () => {
    it('retransmits at T1, 2T1, 4T1 … (intervals double, not capped at T2)', () => {
      const h = harness('INVITE');
      expect(h.times()).toEqual([0]);
      h.clock.advance(63 * T1 - 1);
      // Sends at 0, then after T1, 2T1, 4T1, 8T1, 16T1, 32T1: 0, T1, 3T1, 7T1, 15T1, 31T1, 63T1 (not yet).
      expect(h.times()).toEqual([0, 1, 3, 7, 15, 31].map((k) => k * T1));
      expect(h.tx.state).toBe('calling');
    });

    it('stops retransmitting once a provisional response arrives', () => {
      const h = harness('INVITE');
      h.clock.advance(T1); // one retransmission
      h.reply(180);
      expect(h.tx.state).toBe('proceeding');
      expect(h.responses.map((r) => r.status)).toEqual([180]);
      h.clock.advance(200 * T1);
      expect(h.times()).toEqual([0, T1]);
      // Timer B does not end a ringing call: the TU decides how long to wait.
      expect(h.events.timeouts).toBe(0);
      expect(h.tx.state).toBe('proceeding');
    });
  });

  describe('Calling: Timer B', () => {
    it('fires after 64·T1: onTimeout, Terminated, no timer left', () => {
      const h = harness('INVITE');
      h.clock.advance(64 * T1 - 1);
      expect(h.events.timeouts).toBe(0);
      h.clock.advance(1);
      expect(h.events.timeouts).toBe(1);
      expect(h.events.terminated).toBe(1);
      expectTerminated(h);
      h.clock.advance(100 * T1);
      expect(h.times()).toHaveLength(7); // nothing sent after the timeout
    });

    it('on TCP: no Timer A, Timer B still fires after 64·T1', () => {
      const h = harness('INVITE', 'tcp');
      h.clock.advance(64 * T1 - 1);
      expect(h.times()).toEqual([0]);
      h.clock.advance(1);
      expect(h.events.timeouts).toBe(1);
      expectTerminated(h);
    });
  });

  describe('a non-2xx final response: ACK, Completed, Timer D', () => {
    it('over UDP: ACKs, re-ACKs each retransmitted final, terminates after Timer D (64·T1)', () => {
      const h = harness('INVITE');
      h.reply(100);
      h.clock.advance(1000);
      h.reply(486);
      expect(h.tx.state).toBe('completed');
      expect(h.responses.map((r) => r.status)).toEqual([100, 486]);
      expect(h.times('ACK')).toEqual([1000]);
      expect(h.sent.at(-1)?.to).toEqual({ transport: 'udp', address: '127.0.0.1', port: 5060 });

      h.clock.advance(2000);
      h.reply(486); // the far end did not hear our ACK
      expect(h.times('ACK')).toEqual([1000, 3000]);
      expect(h.responses).toHaveLength(2); // the retransmission is not passed up

      h.clock.advance(64 * T1 - 2000 - 1);
      expect(h.tx.state).toBe('completed');
      h.clock.advance(1);
      expect(h.tx.state).toBe('terminated');
      expect(h.events.terminated).toBe(1);
      expect(h.events.timeouts).toBe(0);
      expect(h.clock.pending()).toBe(0);
      h.reply(486);
      expect(h.times('ACK')).toHaveLength(2);
    });

    it('in Calling (no provisional first) it also ACKs and stops Timer A', () => {
      const h = harness('INVITE');
      h.reply(503);
      expect(h.tx.state).toBe('completed');
      expect(h.times('ACK')).toEqual([0]);
      h.clock.advance(64 * T1);
      expect(h.times('INVITE')).toEqual([0]);
      expectTerminated(h);
    });

    it('over TCP: Timer D is zero', () => {
      const h = harness('INVITE', 'tcp');
      h.reply(404);
      expect(h.tx.state).toBe('completed');
      expect(h.times('ACK')).toEqual([0]);
      h.clock.advance(0);
      expectTerminated(h);
    });
  });

  describe('a 2xx final response', () => {
    it('terminates at once and goes to the TU (which ACKs it itself)', () => {
      const h = harness('INVITE');
      h.clock.advance(T1);
      h.reply(180);
      h.reply(200);
      expect(h.tx.state).toBe('terminated');
      expect(h.responses.map((r) => r.status)).toEqual([180, 200]);
      expect(h.times('ACK')).toEqual([]);
      expect(h.events.terminated).toBe(1);
      expect(h.clock.pending()).toBe(0);
    });

    it('in Calling: terminated, no more retransmissions, no timeout', () => {
      const h = harness('INVITE');
      h.reply(200);
      expectTerminated(h);
      h.clock.advance(100 * T1);
      expect(h.times()).toEqual([0]);
      expect(h.events.timeouts).toBe(0);
    });
  });

  it('a transport error ends the transaction as a timeout when the TU has no handler for it', () => {
    const h = harness('INVITE', 'tcp');
    h.tx.transportError(new Error('ECONNRESET'));
    expect(h.tx.state).toBe('terminated');
    expect(h.events.timeouts).toBe(1);
    expect(h.clock.pending()).toBe(0);
  });
});

describe('client non-INVITE transaction (§17.1.2)', () => {
  describe('Trying over UDP: Timer E', () => {
    it('retransmits at T1, 2T1, 4T1, then every T2 (doubling capped at T2)', () => {
      const h = harness('OPTIONS');
      h.clock.advance(T1 + 2 * T1 + 4 * T1 + 3 * T2);
      // Intervals T1, 2T1, 4T1 (= 2000 < T2), then T2, T2, T2.
      expect(h.times()).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500]);
      expect(h.tx.state).toBe('trying');
    });
  });

  describe('Proceeding over UDP: Timer E every T2', () => {
    it('keeps retransmitting, every T2 once the running Timer E fires', () => {
      const h = harness('BYE');
      h.clock.advance(T1 + 100); // sent at 0 and 500; Timer E now due at 1500
      h.reply(100);
      expect(h.tx.state).toBe('proceeding');
      expect(h.responses.map((r) => r.status)).toEqual([100]);
      h.clock.advance(1500 - 600 + 3 * T2);
      // §17.1.2.2: the provisional does not reset Timer E; when it fires in Proceeding it is reset to T2.
      expect(h.times()).toEqual([0, 500, 1500, 1500 + T2, 1500 + 2 * T2, 1500 + 3 * T2]);
    });

    it('provisional responses are passed up; Timer F still applies', () => {
      const h = harness('BYE');
      h.reply(100);
      h.reply(180);
      expect(h.responses.map((r) => r.status)).toEqual([100, 180]);
      h.clock.advance(64 * T1);
      expect(h.events.timeouts).toBe(1);
      expectTerminated(h);
    });
  });

  describe('Timer F', () => {
    it('fires after 64·T1 over UDP: onTimeout, Terminated, nothing left running', () => {
      const h = harness('OPTIONS');
      h.clock.advance(64 * T1 - 1);
      expect(h.events.timeouts).toBe(0);
      const sentBefore = h.sent.length;
      h.clock.advance(1);
      expect(h.events.timeouts).toBe(1);
      expect(h.events.terminated).toBe(1);
      expectTerminated(h);
      h.clock.advance(10 * T2);
      expect(h.sent).toHaveLength(sentBefore);
    });

    it('over TCP: no Timer E, Timer F after 64·T1', () => {
      const h = harness('OPTIONS', 'tcp');
      h.clock.advance(64 * T1 - 1);
      expect(h.times()).toEqual([0]);
      h.clock.advance(1);
      expect(h.events.timeouts).toBe(1);
      expect(h.clock.pending()).toBe(0);
    });
  });

  describe('Completed: Timer K', () => {
    it('over UDP: a final response stops Timer E; Terminated after T4; retransmissions absorbed', () => {
      const h = harness('OPTIONS');
      h.clock.advance(T1);
      h.reply(200);
      expect(h.tx.state).toBe('completed');
      expect(h.responses.map((r) => r.status)).toEqual([200]);
      h.reply(200); // a retransmitted final is absorbed
      expect(h.responses).toHaveLength(1);
      h.clock.advance(T4 - 1);
      expect(h.tx.state).toBe('completed');
      expect(h.times()).toEqual([0, T1]);
      h.clock.advance(1);
      expect(h.tx.state).toBe('terminated');
      expect(h.events).toEqual({ timeouts: 0, terminated: 1 });
      expect(h.clock.pending()).toBe(0);
    });

    it('a non-2xx final also completes (no ACK for non-INVITE)', () => {
      const h = harness('BYE');
      h.reply(481);
      expect(h.tx.state).toBe('completed');
      expect(h.times('ACK')).toEqual([]);
      h.clock.advance(T4);
      expectTerminated(h);
    });

    it('over TCP: Timer K is zero', () => {
      const h = harness('OPTIONS', 'tcp');
      h.reply(200);
      expect(h.tx.state).toBe('completed');
      h.clock.advance(0);
      expectTerminated(h);
    });
  });

  it('destroy() ends a running transaction and clears its timers', () => {
    const h = harness('OPTIONS');
    h.clock.advance(T1);
    h.tx.destroy();
    expect(h.tx.state).toBe('terminated');
    expect(h.events.timeouts).toBe(0);
    expect(h.clock.pending()).toBe(0);
  });
});

describe('client INVITE after CANCEL (RFC 3261 §9.1)', () => {
  it('gives the INVITE up 64·T1 after the CANCEL when no final response comes', async () => {
    const { FakeClock } = await import('../../util/fake-clock.ts');
    const { ClientTransaction } = await import('./client.ts');
    const { TIMERS, fixtureRequest } = await import('./test-helpers.ts');
    const clock = new FakeClock();
    let timedOut = 0;
    const req = fixtureRequest('INVITE', {
      via: 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKcancel',
      callId: 'cancel-64t1',
    });
    const tx = new ClientTransaction(
      'k',
      req,
      { transport: 'udp', address: '127.0.0.1', port: 5060 },
      { onResponse: () => {}, onTimeout: () => timedOut++ },
      {
        clock,
        timers: TIMERS,
        send: () => {},
        buildAck: (r) => r,
        onTerminated: () => {},
      },
    );
    tx.start();
    tx.receive({
      kind: 'response',
      version: 'SIP/2.0',
      status: 180,
      reason: 'Ringing',
      headers: req.headers,
      body: Buffer.alloc(0),
    });
    clock.advance(64 * TIMERS.t1 * 2);
    expect(tx.state).toBe('proceeding'); // Timer B does not run once it rang
    tx.cancelSent();
    clock.advance(64 * TIMERS.t1);
    expect(tx.state).toBe('terminated');
    expect(timedOut).toBe(1);
    expect(clock.pending()).toBe(0);
  });
});

describe('client transaction table (CLIENT_TX_TRANSITIONS)', () => {
  it('every allowed move is reached through the transaction itself; a move out of Terminated is refused', () => {
    const moves = new Set<string>();
    const run = moveRecorder((method: string) => harness(method), moves);
    run('INVITE', (h) => h.reply(200)); // calling>terminated
    run('INVITE', (h) => h.reply(486)); // calling>completed
    run('INVITE', (h) => {
      h.reply(180); // calling>proceeding
      h.reply(486); // proceeding>completed
      h.clock.advance(64 * T1); // Timer D: completed>terminated
    });
    run('INVITE', (h) => {
      h.reply(180);
      h.reply(200); // proceeding>terminated
    });
    run('OPTIONS', (h) => h.clock.advance(64 * T1)); // Timer F: trying>terminated
    run('OPTIONS', (h) => h.reply(100)); // trying>proceeding
    const last = run('OPTIONS', (h) => h.reply(200)); // trying>completed
    expectEveryMove(CLIENT_TX_TRANSITIONS, moves);

    last.clock.advance(T4); // Timer K
    expect(last.events.terminated).toBe(1);
    moves.clear();
    last.tx.destroy(); // terminated>terminated is not in the table
    expect(moves.size).toBe(0);
    expect(last.events.terminated).toBe(1);
    expectTerminated(last);
  });
});
