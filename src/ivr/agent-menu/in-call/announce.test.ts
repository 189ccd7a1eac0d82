import { describe, expect, it } from 'vitest';
import { AGENT_ID, CHOICE_MS, rig, since, type Rig } from './fake.ts';

const NUMBER = '89001234567';
const OFFER = `customer hears ${['announce_number', ...[...NUMBER].map((d) => `digit_${d}`), 'announce_offer'].join(',')}`;

async function announce(r: Rig): Promise<number> {
  r.agent.press(`*3${NUMBER}`);
  await r.settle();
  const mark = r.script.length;
  r.agent.press('#');
  await r.settle();
  return mark;
}

const record = (outcome: string, mode = 'stay_until_connected', agent: number | '-' = AGENT_ID): string =>
  `record transfer ${agent} ${JSON.stringify({ type: 'announce', to: NUMBER, mode, outcome })}`;

describe('announce', () => {
  it('stay_until_connected: accept beep, the agent hears silence, the customer hears the number and the offer', async () => {
    const r = rig();
    const mark = await announce(r);
    expect(since(r.script, mark)).toEqual(['agent hears tone:accept', 'agent hears silence', OFFER]);
    expect(r.state()).toBe('announcing');
    expect(r.clock.pending()).toBe(1);
  });

  it('release_agent: the agent leaves at #', async () => {
    const r = rig({ announceNumber: 'release_agent' });
    const mark = await announce(r);
    expect(since(r.script, mark)).toEqual([
      'agent hears tone:accept',
      'agent local_hangup',
      `release ${AGENT_ID}`,
      OFFER,
    ]);
  });

  it('customer 1: the number is dialled and the customer hears the ringback', async () => {
    const r = rig();
    await announce(r);
    r.customer.press('1');
    await r.settle();
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
    r.customer.press('2');
    await r.settle();
    expect(r.script).toContain(record('back'));
    expect(r.state()).toBe('talking');
    expect(r.script.at(-1)).toBe('bridge customer+agent');
  });

  it('release_agent then 2: the customer goes back to the head of the queue', async () => {
    const r = rig({ announceNumber: 'release_agent' });
    await announce(r);
    r.customer.press('2');
    await r.settle();
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
    r.customer.press('*');
    await r.settle();
    expect(r.script).toContain(record('customer_left'));
    expect(r.script).toContain('customer hears goodbye');
    expect(r.customer.ended).toBe(true);
    expect(r.script).toContain('finish answered');
  });

  it('kill: the customer hangs up, the choice timer is cleared', async () => {
    const r = rig();
    await announce(r);
    r.customer.end('remote_hangup');
    await r.settle();
    expect(r.clock.pending()).toBe(0);
    expect(r.state()).toBe('ended');
  });

  it('fewer than two digits, or announcing disabled: refused', async () => {
    const r = rig();
    r.agent.press('*38#');
    await r.settle();
    expect(r.state()).toBe('menu');
    const off = rig({ announceNumber: 'disabled' });
    await announce(off);
    expect(off.state()).toBe('menu');
  });
});
