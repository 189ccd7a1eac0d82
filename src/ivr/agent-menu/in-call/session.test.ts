import { describe, expect, it } from 'vitest';
import type { CompanySettings } from '../../../store/store.ts';
import { AGENT_ID, MENU_MS, rig, type Rig } from './fake.ts';
import { IN_CALL_TRANSITIONS, type InCallState } from './states.ts';

const NUMBER = '89001234567';

/** `*`, then the menu key and the entry. */
async function keys(r: Rig, party: 'agent' | 'customer', k: string): Promise<void> {
  r[party].press(k);
  await r.settle();
}

async function timeout(r: Rig): Promise<void> {
  r.clock.advance(MENU_MS);
  await r.settle();
}

async function hangup(r: Rig, party: 'agent' | 'customer'): Promise<void> {
  r[party].end('remote_hangup');
  await r.settle();
}

/** An external transfer the target answered. */
async function answered(r: Rig): Promise<void> {
  await keys(r, 'agent', `*1${NUMBER}#`);
  r.dial().answer();
  await r.settle();
}

interface Scenario {
  settings?: Partial<CompanySettings>;
  drive(r: Rig): Promise<void>;
  moves: string[];
}

/** Each scenario drives the session by the parties' keys, hang-ups and the clock only. */
const SCENARIOS: Record<string, Scenario> = {
  'the agent hangs up while talking: the call is complete': {
    drive: (r) => hangup(r, 'agent'),
    moves: ['talking→ended'],
  },
  '* opens the menu, 5 goes back': {
    drive: async (r) => keys(r, 'agent', '*5'),
    moves: ['talking→menu', 'menu→talking'],
  },
  'the customer hangs up in the menu': {
    drive: async (r) => {
      await keys(r, 'agent', '*');
      await hangup(r, 'customer');
    },
    moves: ['talking→menu', 'menu→ended'],
  },
  '* while keying a number starts the menu again; no key for 10 s goes back': {
    drive: async (r) => {
      await keys(r, 'agent', '*1*');
      await timeout(r);
    },
    moves: ['talking→menu', 'menu→collecting', 'collecting→menu', 'menu→talking'],
  },
  'no key for 10 s while keying a department goes back': {
    drive: async (r) => {
      await keys(r, 'agent', '*2');
      await timeout(r);
    },
    moves: ['talking→menu', 'menu→collecting', 'collecting→talking'],
  },
  'a department transfer ends the session (the call is queued again)': {
    drive: (r) => keys(r, 'agent', '*2200'),
    moves: ['talking→menu', 'menu→collecting', 'collecting→ended'],
  },
  'waiting: * is the menu again, 5 is back, a hang-up ends it': {
    drive: async (r) => {
      await keys(r, 'agent', '*4*4');
      await keys(r, 'agent', '5');
      await keys(r, 'agent', '*4');
      await hangup(r, 'customer');
    },
    moves: [
      'talking→menu',
      'menu→waiting',
      'waiting→menu',
      'menu→waiting',
      'waiting→talking',
      'talking→menu',
      'menu→waiting',
      'waiting→ended',
    ],
  },
  'a transfer nobody answers: back to the agent': {
    drive: async (r) => {
      await keys(r, 'agent', `*1${NUMBER}#`);
      r.dial().fail();
      await r.settle();
    },
    moves: ['talking→menu', 'menu→collecting', 'collecting→dialing', 'dialing→talking'],
  },
  'the customer hangs up while the target rings': {
    drive: async (r) => {
      await keys(r, 'agent', `*1${NUMBER}#`);
      await hangup(r, 'customer');
    },
    moves: ['talking→menu', 'menu→collecting', 'collecting→dialing', 'dialing→ended'],
  },
  'a blind transfer answered, then the target hangs up': {
    drive: async (r) => {
      await answered(r);
      r.dial().leg?.end('remote_hangup');
      await r.settle();
    },
    moves: [
      'talking→menu',
      'menu→collecting',
      'collecting→dialing',
      'dialing→transferred',
      'transferred→ended',
    ],
  },
  'a colleague answers a blind transfer and takes the call': {
    drive: async (r) => {
      await keys(r, 'agent', '*118#');
      r.dial().answer();
      await r.settle();
    },
    moves: [
      'talking→menu',
      'menu→collecting',
      'collecting→dialing',
      'dialing→transferred',
      'transferred→talking',
    ],
  },
  'consultation: * opens the consult menu, no key goes back, * 5 drops the target': {
    settings: { externalTransfer: 'consult' },
    drive: async (r) => {
      await answered(r);
      await keys(r, 'agent', '*');
      await timeout(r);
      await keys(r, 'agent', '*5');
    },
    moves: [
      'talking→menu',
      'menu→collecting',
      'collecting→dialing',
      'dialing→consulting',
      'consulting→consult_menu',
      'consult_menu→consulting',
      'consulting→consult_menu',
      'consult_menu→talking',
    ],
  },
  'consultation: the target hangs up, the agent is back': {
    settings: { externalTransfer: 'consult' },
    drive: async (r) => {
      await answered(r);
      r.dial().leg?.end('remote_hangup');
      await r.settle();
    },
    moves: [
      'talking→menu',
      'menu→collecting',
      'collecting→dialing',
      'dialing→consulting',
      'consulting→talking',
    ],
  },
  'consultation: the agent hangs up, the customer is put through': {
    settings: { externalTransfer: 'consult' },
    drive: async (r) => {
      await answered(r);
      await hangup(r, 'agent');
    },
    moves: [
      'talking→menu',
      'menu→collecting',
      'collecting→dialing',
      'dialing→consulting',
      'consulting→transferred',
    ],
  },
  'consult menu: the agent hangs up, the customer is put through': {
    settings: { externalTransfer: 'consult' },
    drive: async (r) => {
      await answered(r);
      await keys(r, 'agent', '*');
      await hangup(r, 'agent');
    },
    moves: [
      'talking→menu',
      'menu→collecting',
      'collecting→dialing',
      'dialing→consulting',
      'consulting→consult_menu',
      'consult_menu→transferred',
    ],
  },
  'consultation: the customer hangs up': {
    settings: { externalTransfer: 'consult' },
    drive: async (r) => {
      await answered(r);
      await hangup(r, 'customer');
    },
    moves: [
      'talking→menu',
      'menu→collecting',
      'collecting→dialing',
      'dialing→consulting',
      'consulting→ended',
    ],
  },
  'consult menu: the customer hangs up': {
    settings: { externalTransfer: 'consult' },
    drive: async (r) => {
      await answered(r);
      await keys(r, 'agent', '*');
      await hangup(r, 'customer');
    },
    moves: [
      'talking→menu',
      'menu→collecting',
      'collecting→dialing',
      'dialing→consulting',
      'consulting→consult_menu',
      'consult_menu→ended',
    ],
  },
  'announcement: the customer presses 2': {
    drive: async (r) => {
      await keys(r, 'agent', `*3${NUMBER}#`);
      await keys(r, 'customer', '2');
    },
    moves: ['talking→menu', 'menu→collecting', 'collecting→announcing', 'announcing→talking'],
  },
  'announcement: the customer presses 1': {
    drive: async (r) => {
      await keys(r, 'agent', `*3${NUMBER}#`);
      await keys(r, 'customer', '1');
    },
    moves: ['talking→menu', 'menu→collecting', 'collecting→announcing', 'announcing→dialing'],
  },
  'announcement: the customer hangs up': {
    drive: async (r) => {
      await keys(r, 'agent', `*3${NUMBER}#`);
      await hangup(r, 'customer');
    },
    moves: ['talking→menu', 'menu→collecting', 'collecting→announcing', 'announcing→ended'],
  },
};

describe('in-call session machine', () => {
  for (const [name, s] of Object.entries(SCENARIOS)) {
    it(name, async () => {
      const r = rig(s.settings);
      await s.drive(r);
      expect(r.moves).toEqual(s.moves);
    });
  }

  it('the scenarios drive every move the table allows', () => {
    const driven = new Set(Object.values(SCENARIOS).flatMap((s) => s.moves));
    const allowed = (Object.keys(IN_CALL_TRANSITIONS) as InCallState[]).flatMap((from) =>
      IN_CALL_TRANSITIONS[from].map((to) => `${from}→${to}`),
    );
    expect(allowed.filter((m) => !driven.has(m))).toEqual([]);
  });

  it('refuses a move the table does not allow: talking → transferred', () => {
    const r = rig();
    expect(r.session.move('transferred', 'test')).toBe(false);
    expect(r.state()).toBe('talking');
    expect(r.moves).toEqual([]);
  });

  it('after the end, late events change nothing', async () => {
    const r = rig();
    await hangup(r, 'customer');
    const mark = r.script.length;
    await keys(r, 'agent', '*');
    expect(r.state()).toBe('ended');
    expect(r.script.slice(mark)).toEqual([]);
    expect(r.script).toContain(`release ${AGENT_ID}`);
  });
});
