import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.ts';
import {
  StateMachine,
  StatefulFlow,
  allMoves,
  finalStates,
  type StateChange,
  type TransitionTable,
} from './state-machine.ts';

type Light = 'off' | 'blinking' | 'on' | 'broken';
const LIGHT: TransitionTable<Light> = {
  off: ['on', 'blinking', 'broken'],
  blinking: ['blinking', 'on', 'off', 'broken'],
  on: ['off', 'broken'],
  broken: [],
};

function light(clock = new FakeClock()) {
  return {
    clock,
    machine: new StateMachine<Light>({ name: 'light', initial: 'off', transitions: LIGHT, clock }),
  };
}

describe('StateMachine', () => {
  it('makes every move the table allows and tells the listeners with the reason', () => {
    const { machine } = light();
    const seen: StateChange<Light>[] = [];
    machine.onChange((c) => seen.push(c));
    expect(machine.transition('blinking', 'test')).toBe(true);
    expect(machine.transition('blinking', 'again')).toBe(true);
    expect(machine.transition('on', 'steady')).toBe(true);
    expect(machine.transition('off', 'switch')).toBe(true);
    expect(machine.transition('broken', 'bulb')).toBe(true);
    expect(seen.map((c) => `${c.from}>${c.to}:${c.reason}`)).toEqual([
      'off>blinking:test',
      'blinking>blinking:again',
      'blinking>on:steady',
      'on>off:switch',
      'off>broken:bulb',
    ]);
    expect(machine.final).toBe(true);
    expect(finalStates(LIGHT)).toEqual(['broken']);
  });

  it('refuses a move the table does not allow: state and timers stay, refused listeners hear it', () => {
    const { machine, clock } = light();
    machine.transition('on', 'x');
    let fired = 0;
    machine.arm(1000, () => fired++);
    const refused: StateChange<Light>[] = [];
    machine.onRefused((c) => refused.push(c));
    expect(machine.transition('blinking', 'not from on')).toBe(false);
    expect(machine.state).toBe('on');
    expect(refused).toEqual([{ from: 'on', to: 'blinking', reason: 'not from on' }]);
    clock.advance(1000);
    expect(fired).toBe(1);
  });

  it('clears the timers a state armed when the state is left, and on a self-move', () => {
    const { machine, clock } = light();
    machine.transition('blinking', 'x');
    let fired = 0;
    machine.arm(500, () => fired++);
    machine.transition('blinking', 'restart');
    expect(clock.pending()).toBe(0);
    machine.arm(500, () => fired++);
    machine.transition('on', 'y');
    clock.advance(1000);
    expect(fired).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('keeps a timer armed for a group of states across moves within it, clears it on the way out', () => {
    const { machine, clock } = light();
    const fired: string[] = [];
    machine.transition('blinking', 'x');
    machine.arm(500, () => fired.push('group'), ['blinking', 'on']);
    for (const to of ['blinking', 'on'] as const) machine.transition(to, 'within the group');
    clock.advance(500);
    machine.arm(500, () => fired.push('left'), ['on']);
    machine.transition('off', 'out');
    clock.advance(1000);
    expect({ fired, pending: clock.pending() }).toEqual({ fired: ['group'], pending: 0 });
  });

  it('disarm and dispose clear what was armed; a fired timer is no longer counted', () => {
    const { machine, clock } = light();
    const a = machine.arm(100, () => {});
    machine.arm(200, () => {});
    expect(machine.armed).toBe(2);
    machine.disarm(a);
    expect(machine.armed).toBe(1);
    clock.advance(200);
    expect(machine.armed).toBe(0);
    machine.arm(300, () => {});
    machine.dispose();
    expect(clock.pending()).toBe(0);
  });

  it('measures time in the current state', () => {
    const { machine, clock } = light();
    clock.advance(250);
    expect(machine.timeInState).toBe(250);
    machine.transition('on', 'x');
    clock.advance(40);
    expect(machine.timeInState).toBe(40);
    expect(machine.is('on', 'off')).toBe(true);
    expect(machine.can('blinking')).toBe(false);
  });

  it('allMoves lists every move of a table; a StatefulFlow shows its state and moves, and keeps the moves its own', () => {
    expect(allMoves(LIGHT)).toEqual([
      'off>on',
      'off>blinking',
      'off>broken',
      'blinking>blinking',
      'blinking>on',
      'blinking>off',
      'blinking>broken',
      'on>off',
      'on>broken',
    ]);
    class Lamp extends StatefulFlow<Light> {
      press(): boolean {
        return this.machine.transition(this.state === 'off' ? 'on' : 'off', 'pressed');
      }
    }
    const lamp = new Lamp({ name: 'lamp', initial: 'off', transitions: LIGHT, clock: new FakeClock() });
    const seen: string[] = [];
    lamp.onStateChange((c) => seen.push(`${c.from}>${c.to}:${c.reason}`));
    lamp.press();
    lamp.press();
    expect(lamp.state).toBe('off');
    expect(seen).toEqual(['off>on:pressed', 'on>off:pressed']);
  });
});
