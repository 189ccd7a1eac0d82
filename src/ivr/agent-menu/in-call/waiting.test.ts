import { describe, expect, it } from 'vitest';
import { rig } from './fake.ts';

describe('waiting', () => {
  it('4: the agent hears silence, the customer keeps the music, no timer runs; the journey says hold', async () => {
    const r = rig();
    await r.press('agent', '*');
    expect(await r.during(() => r.press('agent', '4'))).toEqual(['agent hears silence', 'record hold 7']);
    expect(r.state()).toBe('waiting');
    expect(r.clock.pending()).toBe(0);
    await r.menuTimeout();
    expect(r.state()).toBe('waiting');
  });

  it('5 is back with the customer; other keys do nothing', async () => {
    const r = rig();
    await r.press('agent', '*4');
    await r.press('agent', '1');
    expect(r.state()).toBe('waiting');
    await r.press('agent', '5');
    expect(r.state()).toBe('talking');
    expect(r.script.at(-1)).toBe('bridge customer+agent');
  });

  it('* opens the menu again (the waiting task is killed)', async () => {
    const r = rig();
    await r.press('agent', '*4*');
    expect(r.state()).toBe('menu');
    await r.press('agent', '5');
    expect(r.state()).toBe('talking');
  });

  it('the agent hanging up while waiting: the customer goes back to the head of the queue', async () => {
    const r = rig();
    await r.press('agent', '*4');
    await r.hangup('agent');
    expect(r.script.at(-1)).toBe('requeue 100 head releasing 7');
  });
});
