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
  for (const s of PATH[state]) expect(cc.transition(s, `to_${s}`)).toBe(true);
  expect(cc.state).toBe(state);
  return cc;
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
      const clock = new FakeClock();
      const cc = callIn('queued', clock);
      let overflowed = 0;
      cc.armMaxWait(1000, () => overflowed++);
      clock.advance(400);
      cc.transition('offering', 'offer');
      cc.transition('queued', 'no answer');
      clock.advance(600);
      expect(overflowed).toBe(1);
      expect(cc.armed).toBe(0);
    });

    it('re-arming the wait or the announcement replaces the earlier timer', () => {
      const clock = new FakeClock();
      const cc = callIn('queued', clock);
      let fired = 0;
      cc.armMaxWait(100, () => fired++);
      cc.armMaxWait(300, () => fired++);
      cc.armAnnouncement(100, () => fired++);
      cc.armAnnouncement(300, () => fired++);
      expect(cc.armed).toBe(2);
      clock.advance(300);
      expect(fired).toBe(2);
    });

    it('stopping the wait (the agent answered) clears both timers', () => {
      const clock = new FakeClock();
      const cc = callIn('offering', clock);
      cc.armMaxWait(100, () => expect.fail('no overflow while the agent hears the whisper'));
      cc.armAnnouncement(100, () => expect.fail('no announcement'));
      cc.stopWaitTimers();
      clock.advance(200);
      expect(clock.pending()).toBe(0);
    });

    it('connecting or ending the call clears the wait timers', () => {
      for (const to of ['connected', 'ended'] as const) {
        const clock = new FakeClock();
        const cc = callIn('offering', clock);
        cc.armMaxWait(100, () => expect.fail('cleared'));
        cc.armAnnouncement(100, () => expect.fail('cleared'));
        expect(cc.transition(to, 'leave the queue')).toBe(true);
        expect(clock.pending()).toBe(0);
      }
    });
  });

  describe('for life', () => {
    it('a timer armed for the call survives connected and requeued, and goes when the call ends', () => {
      const clock = new FakeClock();
      const cc = callIn('queued', clock);
      let fired = 0;
      cc.armForLife(1000, () => fired++);
      cc.transition('offering', 'x');
      cc.transition('connected', 'x');
      cc.transition('queued', 'requeue');
      clock.advance(1000);
      expect(fired).toBe(1);
      cc.armForLife(1000, () => fired++);
      cc.transition('ended', 'hang-up');
      clock.advance(1000);
      expect(fired).toBe(1);
      expect(clock.pending()).toBe(0);
    });
  });

  it('dispose clears every timer (server shutdown)', () => {
    const clock = new FakeClock();
    const cc = callIn('queued', clock);
    cc.armMaxWait(100, () => {});
    cc.armForLife(100, () => {});
    cc.dispose();
    expect(clock.pending()).toBe(0);
  });
});
