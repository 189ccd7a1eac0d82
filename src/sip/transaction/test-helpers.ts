/** Shared fixtures of the transaction tests (client.test.ts, server.test.ts). */
import { expect } from 'vitest';
import { parseMessage } from '../message/parse.ts';
import { type StateListener, type TransitionTable, allMoves } from '../../util/state-machine.ts';
import type { SipRequest } from '../message/types.ts';
import type { TimerConfig } from './timers.ts';

/** The RFC 3261 defaults, spelt out so the tests can compute every expected time. */
export const TIMERS: TimerConfig = { t1: 500, t2: 4000, t4: 5000 };

/**
 * A parsed request from 127.0.0.1:5070 to sip:9001@127.0.0.1, with `via` as the
 * Via parameters (branch, rport), `callId` and the CSeq method (default: `method`).
 */
export function fixtureRequest(
  method: string,
  { via, callId, cseqMethod = method }: { via: string; callId: string; cseqMethod?: string },
): SipRequest {
  const text =
    `${method} sip:9001@127.0.0.1 SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:5070;${via}\r\n` +
    'Max-Forwards: 70\r\n' +
    'From: <sip:7900@127.0.0.1>;tag=f1\r\n' +
    'To: <sip:9001@127.0.0.1>\r\n' +
    `Call-ID: ${callId}\r\n` +
    `CSeq: 1 ${cseqMethod}\r\n` +
    'Content-Length: 0\r\n\r\n';
  const r = parseMessage(Buffer.from(text));
  if (!r.ok || r.message.kind !== 'request') throw new Error('fixture did not parse');
  return r.message;
}

/** The transaction has ended: Terminated, with no timer of it left running. */
export function expectTerminated(h: { tx: { state: string }; clock: { pending(): number } }): void {
  expect(h.tx.state).toBe('terminated');
  expect(h.clock.pending()).toBe(0);
}

/**
 * Runs scenarios on fresh harnesses, collecting every move their transactions
 * make into `moves` as `from>to` (the form `allMoves` lists).
 */
export function moveRecorder<
  H extends { tx: { onStateChange(listener: StateListener<S>): unknown } },
  S extends string,
>(harness: (method: string) => H, moves: Set<string>): (method: string, steps: (h: H) => void) => H {
  return (method, steps) => {
    const h = harness(method);
    h.tx.onStateChange(({ from, to }) => moves.add(`${from}>${to}`));
    steps(h);
    return h;
  };
}

/** The scenarios drove the transaction through every move its table allows, and no other. */
export function expectEveryMove<S extends string>(table: TransitionTable<S>, moves: Set<string>): void {
  expect([...moves].sort()).toEqual(allMoves(table).sort());
}
