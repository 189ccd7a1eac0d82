import { describe, expect, it } from 'vitest';
import type { Leg } from '../call/leg.ts';
import type { CompanySettings, Department } from '../store/store.ts';
import { FakeClock } from '../util/fake-clock.ts';
import { canMove } from '../util/state-machine.ts';
import { CUSTOMER_CALL_TRANSITIONS, CustomerCall, type CustomerCallState } from './customer-call.ts';

/** Allowed moves that bring a new call (greeting) into each state. */
const PATH: Record<CustomerCallState, CustomerCallState[]> = {
  greeting: [],
  queued: ['queued'],
  offering: ['queued', 'offering'],
  connected: ['queued', 'offering', 'connected'],
  ended: ['ended'],
};

function call(clock = new FakeClock()): CustomerCall {
  // The call's state and timers need neither media nor a store: the leg is only carried.
  return new CustomerCall(
    {} as Leg,
    {
      companyId: 1,
      hotline: '+74950000001',
      callerId: '+79000000009',
      callerName: undefined,
      callerPrivate: false,
      department: { id: 1, code: '1' } as Department,
      settings: {} as CompanySettings,
      startedAt: 0,
    },
    clock,
  );
}

function callIn(state: CustomerCallState, clock = new FakeClock()): CustomerCall {
  const cc = call(clock);
  moves(cc, ...PATH[state]);
  expect(cc.state).toBe(state);
  return cc;
}

/** A call in `state`, and a callback for its timers that counts how often it fired. */
function timed(state: CustomerCallState) {
  const clock = new FakeClock();
  const fired = { n: 0 };
  return { clock, cc: callIn(state, clock), fired, tick: () => void fired.n++ };
}

/** Moves the table allows, each of which must be made. */
function moves(cc: CustomerCall, ...to: CustomerCallState[]): void {
  for (const s of to) expect(cc.transition(s, `to_${s}`)).toBe(true);
}

const STATES = Object.keys(CUSTOMER_CALL_TRANSITIONS) as CustomerCallState[];

describe('CustomerCall', () => {
  describe.each(STATES)('from %s', (from) => {
    it.each(STATES)(`to %s: moves exactly when the table allows it`, (to) => {
      const cc = callIn(from);
      const allowed = canMove(CUSTOMER_CALL_TRANSITIONS, from, to);
      expect(cc.transition(to, 'probe')).toBe(allowed);
      expect(cc.state).toBe(allowed ? to : from);
    });
  });

  it('refuses a forbidden move and stays where it was (an ended call is not queued again)', () => {
    const cc = callIn('ended');
    expect(cc.transition('queued', 'late requeue')).toBe(false);
    expect(cc.state).toBe('ended');
    const greeting = call();
    expect(greeting.transition('connected', 'no offer')).toBe(false);
    expect(greeting.state).toBe('greeting');
  });

  describe('waiting (queued, offering)', () => {
    it('the maximum wait runs on while an offer comes and goes', () => {
      const { clock, cc, fired, tick } = timed('queued');
      cc.armMaxWait(1000, tick);
      clock.advance(400);
      moves(cc, 'offering', 'queued');
      clock.advance(600);
      expect(fired.n).toBe(1);
      expect(cc.armed).toBe(0);
    });

    it('re-arming the wait or the announcement replaces the earlier timer', () => {
      const { clock, cc, fired, tick } = timed('queued');
      for (const ms of [100, 300]) {
        cc.armMaxWait(ms, tick);
        cc.armAnnouncement(ms, tick);
      }
      expect(cc.armed).toBe(2);
      clock.advance(300);
      expect(fired.n).toBe(2);
    });

    it.each(['stopped (the agent answered)', 'connected', 'ended'] as const)(
      'the wait timers are cleared when the wait is %s',
      (how) => {
        const { clock, cc, tick } = timed('offering');
        cc.armMaxWait(100, tick);
        cc.armAnnouncement(100, tick);
        if (how === 'connected' || how === 'ended') expect(cc.transition(how, 'leave the queue')).toBe(true);
        else cc.stopWaitTimers();
        expect(clock.pending()).toBe(0);
      },
    );
  });

  it('a timer armed for the call survives connected and requeued, and goes when the call ends', () => {
    const { clock, cc, fired, tick } = timed('queued');
    cc.armForLife(1000, tick);
    moves(cc, 'offering', 'connected', 'queued');
    clock.advance(1000);
    cc.armForLife(1000, tick);
    moves(cc, 'ended');
    expect({ fired: fired.n, pending: clock.pending() }).toEqual({ fired: 1, pending: 0 });
  });

  it('dispose clears every timer (server shutdown)', () => {
    const { clock, cc, tick } = timed('queued');
    cc.armMaxWait(100, tick);
    cc.armForLife(100, tick);
    cc.dispose();
    expect(clock.pending()).toBe(0);
  });
});
