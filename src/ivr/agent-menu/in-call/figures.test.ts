import { describe, expect, it } from 'vitest';
import { AGENT_ID, COLLEAGUE, rig, type Rig } from './fake.ts';

/** The figures a call leaves behind (issue 14 item 1): its outcome and each agent's talk time. */

async function transfer(r: Rig, digits: string): Promise<void> {
  await r.press('agent', `*1${digits}#`);
}

/** Agent 7 talks `first` ms, then hands the call to the colleague, who talks `second` ms. */
async function handedToColleague(first: number, second: number): Promise<Rig> {
  const r = rig();
  r.clock.advance(first);
  await transfer(r, COLLEAGUE.shortNumber);
  r.dial().answer();
  await r.settle();
  expect(r.session.agent?.id).toBe(COLLEAGUE.id);
  r.clock.advance(second);
  return r;
}

describe('outcome', () => {
  for (const mode of ['release_immediately', 'release_on_answer'] as const)
    it(`${mode}: the customer hangs up while the target rings — abandoned, not transferred`, async () => {
      const r = rig({ externalTransfer: mode });
      await transfer(r, '89001234567');
      await r.hangup('customer');
      expect(r.script).toContain('finish abandoned');
      expect(r.script).not.toContain('finish transferred');
      expect(r.call.transfers).toBe(0);
    });

  it('after a colleague took the call: transferred whoever hangs up first', async () => {
    const byColleague = await handedToColleague(1000, 1000);
    await byColleague.hangup('target');
    const byCustomer = await handedToColleague(1000, 1000);
    await byCustomer.hangup('customer');
    for (const r of [byColleague, byCustomer]) {
      expect(r.script.filter((l) => l.startsWith('finish'))).toEqual(['finish transferred']);
    }
  });

  it('no transfer: answered whoever hangs up first', async () => {
    const byAgent = rig();
    await byAgent.hangup('agent');
    const byCustomer = rig();
    await byCustomer.hangup('customer');
    for (const r of [byAgent, byCustomer])
      expect(r.script.filter((l) => l.startsWith('finish'))).toEqual(['finish answered']);
  });
});

describe('talk time per agent', () => {
  it("the first agent is not credited with the colleague's conversation", async () => {
    const r = await handedToColleague(10_000, 30_000);
    await r.hangup('customer');
    expect(r.call.talkMs).toBe(40_000);
    expect([...r.call.agentTalkMs]).toEqual([
      [AGENT_ID, 10_000],
      [COLLEAGUE.id, 30_000],
    ]);
  });

  it("nor with the customer's time with an outside number", async () => {
    const r = rig({ externalTransfer: 'release_immediately' });
    r.clock.advance(10_000);
    await transfer(r, '89001234567');
    r.dial().answer();
    await r.settle();
    expect(r.state()).toBe('transferred');
    r.clock.advance(20_000);
    await r.hangup('target');
    expect(r.call.talkMs).toBe(30_000);
    expect([...r.call.agentTalkMs]).toEqual([[AGENT_ID, 10_000]]);
  });

  it('time on hold is nobody’s talk', async () => {
    const r = rig();
    r.clock.advance(5_000);
    await r.press('agent', '*4');
    r.clock.advance(60_000);
    await r.press('agent', '5');
    r.clock.advance(5_000);
    await r.hangup('agent');
    expect([...r.call.agentTalkMs]).toEqual([[AGENT_ID, 10_000]]);
  });
});
