import { describe, expect, it } from 'vitest';
import { AGENT_ID, CHOICE_MS, rig, type Rig } from './fake.ts';

const NUMBER = '89001234567';
const OFFER = `customer hears ${['announce_number', ...[...NUMBER].map((d) => `digit_${d}`), 'announce_offer'].join(',')}`;

/** The agent keys the entry; what the closing # leads to. */
async function announce(r: Rig): Promise<string[]> {
  await r.press('agent', `*3${NUMBER}`);
  return r.during(() => r.press('agent', '#'));
}

const record = (outcome: string, mode = 'stay_until_connected', agent: number | '-' = AGENT_ID): string =>
  `record transfer ${agent} ${JSON.stringify({ type: 'announce', to: NUMBER, mode, outcome })}`;

describe('announce', () => {
  it('stay_until_connected: accept beep, the agent hears silence, the customer hears the number and the offer', async () => {
    const r = rig();
    expect(await announce(r)).toEqual(['agent hears tone:accept', 'agent hears silence', OFFER]);
    expect(r.state()).toBe('announcing');
    expect(r.clock.pending()).toBe(1);
  });

  it('release_agent: the agent leaves at #', async () => {
    const r = rig({ announceNumber: 'release_agent' });
    expect(await announce(r)).toEqual([
      'agent hears tone:accept',
      'agent local_hangup',
      `release ${AGENT_ID}`,
      OFFER,
    ]);
  });

  it('customer 1: the number is dialled and the customer hears the ringback', async () => {
    const r = rig();
    await announce(r);
    await r.press('customer', '1');
    expect(r.script.slice(-3)).toEqual([
      'customer hears silence',
      'customer hears tone:ringback (loop)',
      'dial +79001234567',
    ]);
    expect(r.clock.pending()).toBe(0);
    r.dial().answer();
    await r.settle();
    expect(r.state()).toBe('transferred');
    expect(r.script.at(-1)).toBe('bridge customer+target');
  });

  it('customer 2: back with the agent', async () => {
    const r = rig();
    await announce(r);
    await r.press('customer', '2');
    expect(r.script).toContain(record('back'));
    expect(r.state()).toBe('talking');
    expect(r.script.at(-1)).toBe('bridge customer+agent');
  });

  it('release_agent then 2: the customer goes back to the head of the queue', async () => {
    const r = rig({ announceNumber: 'release_agent' });
    await announce(r);
    await r.press('customer', '2');
    expect(r.script.slice(-2)).toEqual([record('back', 'release_agent', '-'), 'requeue 100 head']);
  });

  it('no choice: the offer is repeated three times, then treated as 2', async () => {
    const r = rig();
    await announce(r);
    for (let i = 0; i < 2; i++) {
      r.clock.advance(CHOICE_MS);
      await r.settle();
    }
    expect(r.script.filter((l) => l === OFFER)).toHaveLength(3);
    r.clock.advance(CHOICE_MS);
    await r.settle();
    expect(r.script).toContain(record('back'));
    expect(r.state()).toBe('talking');
  });

  it('customer *: goodbye and the call ends', async () => {
    const r = rig();
    await announce(r);
    await r.press('customer', '*');
    expect(r.script).toContain(record('customer_left'));
    expect(r.script).toContain('customer hears goodbye');
    expect(r.customer.ended).toBe(true);
    expect(r.script).toContain('finish answered');
  });

  it('kill: the customer hangs up, the choice timer is cleared', async () => {
    const r = rig();
    await announce(r);
    await r.hangup('customer');
    expect(r.clock.pending()).toBe(0);
    expect(r.state()).toBe('ended');
  });

  it('fewer than two digits, or announcing disabled: refused', async () => {
    const r = rig();
    await r.press('agent', '*38#');
    expect(r.state()).toBe('menu');
    const off = rig({ announceNumber: 'disabled' });
    await announce(off);
    expect(off.state()).toBe('menu');
  });
});
