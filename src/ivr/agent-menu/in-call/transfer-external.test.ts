import { describe, expect, it } from 'vitest';
import { EXTERNAL_TRANSFER_MODES } from '../../../store/vocabulary.ts';
import { AGENT_ID, COLLEAGUE, rig, type Rig } from './fake.ts';
import { TRANSFER_POLICIES } from './policy.ts';

const NUMBER = '89001234567';
const E164 = '+79001234567';

/** The agent keys the entry; what the closing # leads to. */
async function transfer(r: Rig, digits = NUMBER): Promise<string[]> {
  await r.press('agent', `*1${digits}`);
  return r.during(() => r.press('agent', '#'));
}

const record = (outcome: string, mode: string, agent: number | '-' = AGENT_ID, to = E164): string =>
  `record transfer ${agent} ${JSON.stringify({ type: 'external', to, mode, outcome })}`;

describe('transfer-external policy table', () => {
  it('has a row for every mode that transfers', () => {
    const modes = EXTERNAL_TRANSFER_MODES.filter((m) => m !== 'disabled');
    expect(Object.keys(TRANSFER_POLICIES).sort()).toEqual([...modes].sort());
  });
});

describe('transfer-external: release_immediately', () => {
  it('releases the agent before dialling; the customer hears the ringback and is put through on answer', async () => {
    const r = rig({ externalTransfer: 'release_immediately' });
    expect(await transfer(r)).toEqual([
      'agent local_hangup',
      `release ${AGENT_ID}`,
      'customer hears tone:ringback (loop)',
      `dial ${E164}`,
    ]);
    expect(await r.during(() => r.dial().answer())).toEqual([
      record('connected', 'release_immediately', '-'),
      'bridge customer+target',
    ]);
    expect(r.state()).toBe('transferred');
  });

  it('no answer with the agent gone: the customer goes back to the head of the queue', async () => {
    const r = rig({ externalTransfer: 'release_immediately' });
    await transfer(r);
    r.dial().fail('busy');
    await r.settle();
    expect(r.script.slice(-2)).toEqual([record('busy', 'release_immediately', '-'), 'requeue 100 head']);
    expect(r.call.transfers).toBe(0);
  });
});

describe('transfer-external: release_on_answer', () => {
  it('the agent hears the ringback and early media; on answer the agent leaves and customer and target talk', async () => {
    const r = rig({ externalTransfer: 'release_on_answer' });
    expect(await transfer(r)).toEqual(['agent hears tone:ringback (loop)', `dial ${E164}`]);
    r.dial().early();
    expect(r.script.at(-1)).toBe('bridge agent+target');
    expect(await r.during(() => r.dial().answer())).toEqual([
      record('connected', 'release_on_answer'),
      'unbridge agent+target',
      'agent local_hangup',
      `release ${AGENT_ID}`,
      'bridge customer+target',
    ]);
    expect(r.call.transfers).toBe(1);
  });

  it('no answer: the agent is back with the customer, with an error beep', async () => {
    const r = rig();
    await transfer(r);
    expect(await r.during(() => r.dial().fail())).toEqual([
      record('no_answer', 'release_on_answer'),
      'customer hears silence',
      'agent hears tone:error',
      'bridge customer+agent',
    ]);
    expect(r.state()).toBe('talking');
    expect(r.call.transfers).toBe(0);
  });

  it('a colleague by short number is reserved, settled on answer, and takes over the menu', async () => {
    const r = rig();
    await transfer(r, COLLEAGUE.shortNumber);
    expect(r.script.slice(-2)).toEqual([`reserve ${COLLEAGUE.id}`, `dial ${COLLEAGUE.contact}`]);
    const colleague = r.dial().answer();
    await r.settle();
    expect(r.script).toContain(`settle ${COLLEAGUE.id} answered`);
    expect(r.session.agent?.id).toBe(COLLEAGUE.id);
    expect(r.call.agentIds).toEqual([AGENT_ID, COLLEAGUE.id]);
    colleague.press('*');
    await r.settle();
    expect(r.state()).toBe('menu');
  });

  it('a colleague who answers but does not press the accept key: not accepted, back to the agent', async () => {
    const r = rig();
    r.acceptance = 'timeout';
    await transfer(r, COLLEAGUE.shortNumber);
    const target = r.dial().answer();
    await r.settle();
    expect(target.ended).toBe(true);
    expect(r.script).toContain(`settle ${COLLEAGUE.id} not answered`);
    expect(r.script).toContain(record('not_accepted', 'release_on_answer', AGENT_ID, COLLEAGUE.shortNumber));
    expect(r.state()).toBe('talking');
  });

  it('kill: the customer hangs up while the target rings, the dial is cancelled', async () => {
    const r = rig();
    await transfer(r);
    await r.hangup('customer');
    expect(r.dial().cancelled).toBe(true);
    // The customer abandoned the transfer (issue 14): not a transferred call.
    expect(r.script).toContain('finish abandoned');
    expect(r.clock.pending()).toBe(0);
  });
});

describe('transfer-external: consult', () => {
  async function consulting(): Promise<Rig> {
    const r = rig({ externalTransfer: 'consult' });
    await transfer(r);
    r.dial().answer();
    await r.settle();
    return r;
  }

  it('the answered target talks with the agent; the customer stays on hold', async () => {
    const r = await consulting();
    expect(r.state()).toBe('consulting');
    expect(r.script.at(-1)).toBe('bridge agent+target');
  });

  it('the agent hanging up puts the customer through', async () => {
    const r = await consulting();
    expect(await r.during(() => r.hangup('agent'))).toEqual([
      'agent remote_hangup',
      `release ${AGENT_ID}`,
      `record transfer - ${JSON.stringify({ type: 'external', to: E164, mode: 'consult', outcome: 'connected' })}`,
      'unbridge agent+target',
      'bridge customer+target',
    ]);
    expect(r.state()).toBe('transferred');
  });

  it('* 5 drops the target and the agent is back with the customer', async () => {
    const r = await consulting();
    await r.press('agent', '*');
    expect(r.state()).toBe('consult_menu');
    await r.press('agent', '5');
    expect(r.dial().leg?.ended).toBe(true);
    expect(r.script).toContain(record('dropped', 'consult'));
    expect(r.state()).toBe('talking');
    expect(r.call.transfers).toBe(0);
  });

  it('the consult menu: a wrong key beeps, no key goes back to the consultation', async () => {
    const r = await consulting();
    await r.press('agent', '*');
    await r.press('agent', '9');
    expect(r.script.at(-1)).toBe('agent hears tone:error');
    await r.menuTimeout();
    expect(r.state()).toBe('consulting');
    expect(r.script.at(-1)).toBe('bridge agent+target');
  });

  it('kill in the consult menu clears its timer', async () => {
    const r = await consulting();
    await r.press('agent', '*');
    expect(r.clock.pending()).toBe(1);
    await r.hangup('customer');
    expect(r.clock.pending()).toBe(0);
    expect(r.state()).toBe('ended');
  });
});

describe('transfer-external: refused', () => {
  it('disabled: error beep, back in the menu', async () => {
    const r = rig({ externalTransfer: 'disabled' });
    expect(await transfer(r)).toEqual(['agent hears tone:error']);
    expect(r.state()).toBe('menu');
    expect(r.dials).toEqual([]);
  });

  it('a destination the company does not allow is refused', async () => {
    const r = rig({ allowedDestinations: ['agents'] });
    await transfer(r);
    expect(r.state()).toBe('menu');
    expect(r.dials).toEqual([]);
  });

  it('the menu timing out while the settings are read stops the task', async () => {
    const r = rig();
    let release!: () => void;
    const settings = r.settings;
    r.session.world.desk.settings = () => new Promise((resolve) => (release = () => resolve(settings)));
    await r.press('agent', `*1${NUMBER}#`);
    await r.menuTimeout();
    release();
    await r.settle();
    expect(r.state()).toBe('talking');
    expect(r.dials).toEqual([]);
  });
});
