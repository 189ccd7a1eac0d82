import { describe, expect, it } from 'vitest';
import { AGENT_ID, rig } from './fake.ts';

describe('transfer-department', () => {
  it('a known code: accept beep, the transfer row, the agent leaves, the customer joins the back of that queue', async () => {
    const r = rig();
    await r.press('agent', '*220');
    expect(await r.during(() => r.press('agent', '0'))).toEqual([
      'agent hears tone:accept',
      `record transfer ${AGENT_ID} ${JSON.stringify({ type: 'department', to: '200', outcome: 'queued' })}`,
      'agent local_hangup',
      `release ${AGENT_ID}`,
      'requeue 200',
    ]);
    expect(r.call.transfers).toBe(1);
    expect(r.state()).toBe('ended');
  });

  it('an unknown code: error beep, back in the menu with its timer', async () => {
    const r = rig();
    await r.press('agent', '*2999');
    expect(r.script.at(-1)).toBe('agent hears tone:error');
    expect(r.state()).toBe('menu');
    await r.menuTimeout();
    expect(r.state()).toBe('talking');
  });

  it('a key that is not a digit is refused', async () => {
    const r = rig();
    await r.press('agent', '*22#');
    expect(r.state()).toBe('menu');
  });

  it('kill: the customer hangs up during the lookup, nothing is queued', async () => {
    const r = rig();
    let found!: () => void;
    const lookup = r.session.world.directory.getDepartmentByCode;
    r.session.world.directory.getDepartmentByCode = (c, code) =>
      new Promise((resolve) => (found = () => resolve(lookup(c, code))));
    await r.press('agent', '*2200');
    await r.hangup('customer');
    found();
    await r.settle();
    expect(r.script.filter((l) => l.startsWith('requeue'))).toEqual([]);
    expect(r.script).toContain('finish answered');
  });
});
