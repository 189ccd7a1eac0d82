import { describe, expect, it } from 'vitest';
import { MENU_MS, rig, since } from './fake.ts';

describe('waiting', () => {
  it('4: the agent hears silence, the customer keeps the music, no timer runs', async () => {
    const r = rig();
    r.agent.press('*');
    await r.settle();
    const mark = r.script.length;
    r.agent.press('4');
    await r.settle();
    expect(since(r.script, mark)).toEqual(['agent hears silence']);
    expect(r.state()).toBe('waiting');
    expect(r.clock.pending()).toBe(0);
    r.clock.advance(MENU_MS);
    await r.settle();
    expect(r.state()).toBe('waiting');
  });

  it('5 is back with the customer; other keys do nothing', async () => {
    const r = rig();
    r.agent.press('*4');
    await r.settle();
    r.agent.press('1');
    await r.settle();
    expect(r.state()).toBe('waiting');
    r.agent.press('5');
    await r.settle();
    expect(r.state()).toBe('talking');
    expect(r.script.at(-1)).toBe('bridge customer+agent');
  });

  it('* opens the menu again (the waiting task is killed)', async () => {
    const r = rig();
    r.agent.press('*4*');
    await r.settle();
    expect(r.state()).toBe('menu');
    r.agent.press('5');
    await r.settle();
    expect(r.state()).toBe('talking');
  });

  it('the agent hanging up while waiting: the customer goes back to the head of the queue', async () => {
    const r = rig();
    r.agent.press('*4');
    await r.settle();
    r.agent.end('remote_hangup');
    await r.settle();
    expect(r.script.at(-1)).toBe('requeue 100 head releasing 7');
  });
});
