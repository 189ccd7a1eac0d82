import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { MonitorTarget } from '../../acd/acd.ts';
import type { DialOptions, DialResult, Dialing } from '../../call/engine.ts';
import type { Leg } from '../../call/leg.ts';
import type { MonitorMode } from '../../media/media-session.ts';
import type { Agent } from '../../store/store.ts';
import { FakeClock } from '../../util/fake-clock.ts';
import { allMoves, finalStates } from '../../util/state-machine.ts';
import { MONITOR_CALL_TRANSITIONS, MonitorCalls } from './monitor-call.ts';

/** Just enough of a leg: its end, keys, and the media monitor it starts. */
class FakeLeg {
  ended = false;
  hangups = 0;
  digits: ((d: string) => void) | null = null;
  modes: MonitorMode[] = [];
  /** The last media monitor started: its onEnded is how the media tells that the pair is gone. */
  monitoring: { onEnded: (() => void) | null } | undefined;
  private readonly endListeners = new Set<() => void>();
  readonly mediaSession = {
    monitor: (_t: unknown, mode: MonitorMode) => {
      this.modes.push(mode);
      const m = {
        active: true,
        onEnded: null as (() => void) | null,
        setMode: (x: MonitorMode) => this.modes.push(x),
        stop: () => (m.active = false),
      };
      this.monitoring = m;
      return m;
    },
  };
  on(_event: 'ended', fn: () => void): () => void {
    this.endListeners.add(fn);
    return () => this.endListeners.delete(fn);
  }
  silence(): void {}
  setDigitHandler(fn: ((d: string) => void) | null): void {
    this.digits = fn;
  }
  end(): void {
    this.ended = true;
    for (const fn of [...this.endListeners]) fn();
  }
  hangup(): Promise<void> {
    this.hangups++;
    this.end();
    return Promise.resolve();
  }
}

const agent = (login: string, o: Partial<Agent> = {}): Agent =>
  ({
    id: Number(login),
    login,
    companyId: 1,
    contact: `+7900000${login}`,
    sessionContact: null,
    ...o,
  }) as Agent;

function rig(o: { routes?: boolean } = {}) {
  const customer = new FakeLeg();
  const agentLeg = new FakeLeg();
  const sup = new FakeLeg();
  const journal: string[] = [];
  let target: MonitorTarget | undefined = {
    callId: 'c1',
    customer: customer as unknown as Leg,
    agent: agentLeg as unknown as Leg,
    record: (kind, detail) => {
      journal.push(`${kind}:${detail.mode ?? detail.end ?? ''}`);
      return Promise.resolve();
    },
  };
  const dials: DialOptions[] = [];
  /** The supervisor out of the distribution and back (enterMenu, leaveMenu). */
  const menu: string[] = [];
  let answer!: (r: DialResult) => void;
  let cancelled = 0;
  const calls = new MonitorCalls({
    engine: {
      dial: (opts): Promise<Dialing> => {
        dials.push(opts);
        return Promise.resolve({
          leg: sup as unknown as Leg,
          result: new Promise<DialResult>((r) => (answer = r)),
          cancel: () => {
            cancelled++;
            answer({ kind: 'cancelled', status: 487, reason: 'Request Terminated' });
          },
        });
      },
    },
    resolver: {
      resolve: (contact) => (o.routes === false ? [] : [{ uri: { user: contact } } as never]),
    },
    directory: { getCompany: () => Promise.resolve(null) },
    availability: {
      enterMenu: (id) => Promise.resolve(void menu.push(`in:${id}`)),
      leaveMenu: (id) => Promise.resolve(void menu.push(`out:${id}`)),
    },
    target: () => target,
    clock: new FakeClock(),
    logger: pino({ level: 'silent' }),
  });
  return {
    calls,
    customer,
    agentLeg,
    sup,
    journal,
    dials,
    menu,
    answer: (): void => answer({ kind: 'answered', leg: sup as unknown as Leg }),
    cancelled: () => cancelled,
    gone: () => (target = undefined),
  };
}

describe('monitoring by calling the supervisor', () => {
  it('every move of the table is used and ended is the only final state', () => {
    expect(finalStates(MONITOR_CALL_TRANSITIONS)).toEqual(['ended']);
    expect(allMoves(MONITOR_CALL_TRANSITIONS)).toEqual(['ringing>hearing', 'ringing>ended', 'hearing>ended']);
  });

  it("rings the supervisor's contact next to the customer's media; on answer hears in the mode asked", async () => {
    const r = rig();
    expect(await r.calls.call(agent('1004'), agent('1001'), 'whisper')).toEqual({
      kind: 'calling',
      callId: 'c1',
    });
    expect(r.dials[0]).toMatchObject({ near: r.customer, callerId: { user: '1001' }, timeoutMs: 20_000 });
    r.answer();
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.sup.modes).toEqual(['whisper']);
    r.sup.digits?.('3');
    expect(r.sup.modes).toEqual(['whisper', 'barge']);
    // The call ends (the media says so): the supervisor is hung up.
    r.customer.end();
    r.sup.monitoring?.onEnded?.();
    await r.calls.idle();
    expect(r.sup.hangups).toBe(1);
    expect(r.journal).toEqual(['monitor_started:whisper', 'monitor_mode:barge', 'monitor_stopped:call_gone']);
  });

  it('* hangs the supervisor up', async () => {
    const r = rig();
    await r.calls.call(agent('1004'), agent('1001'), 'listen');
    r.answer();
    await new Promise((resolve) => setImmediate(resolve));
    r.sup.digits?.('*');
    await r.calls.idle();
    expect(r.sup.hangups).toBe(1);
    expect(r.journal).toEqual(['monitor_started:listen', 'monitor_stopped:supervisor']);
    expect(r.menu).toEqual(['in:1004', 'out:1004']);
  });

  it('the call ending while the phone rings cancels the ringing; no journey', async () => {
    const r = rig();
    await r.calls.call(agent('1004'), agent('1001'), 'listen');
    r.agentLeg.end();
    await r.calls.idle();
    expect(r.cancelled()).toBe(1);
    expect(r.journal).toEqual([]);
    expect(r.menu).toEqual(['in:1004', 'out:1004']);
  });

  it('answered after the call is gone: hung up at once', async () => {
    const r = rig();
    await r.calls.call(agent('1004'), agent('1001'), 'listen');
    r.gone();
    r.answer();
    await r.calls.idle();
    expect(r.sup.hangups).toBe(1);
    expect(r.journal).toEqual([]);
  });

  it('no call to hear, or no route to the phone: nothing is dialled', async () => {
    const idle = rig();
    idle.gone();
    expect(await idle.calls.call(agent('1004'), agent('1003'), 'listen')).toEqual({ kind: 'no_call' });
    const noRoute = rig({ routes: false });
    expect(await noRoute.calls.call(agent('1004'), agent('1001'), 'listen')).toMatchObject({
      kind: 'no_route',
    });
    expect([...idle.dials, ...noRoute.dials]).toEqual([]);
    expect([...idle.menu, ...noRoute.menu]).toEqual([]);
  });
});
