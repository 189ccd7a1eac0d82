import { describe, expect, it } from 'vitest';
import type { CompanySettings } from '../../../store/store.ts';
import { AGENT_ID, rig, type Rig } from './fake.ts';
import { IN_CALL_TRANSITIONS, type InCallState } from './states.ts';

const NUMBER = '89001234567';

/** An external transfer the target answered. */
async function answered(r: Rig): Promise<void> {
  await r.press('agent', `*1${NUMBER}#`);
  r.dial().answer();
  await r.settle();
}

const MENU = ['talking→menu', 'menu→collecting'];
const DIALING = [...MENU, 'collecting→dialing'];
const CONSULTING = [...DIALING, 'dialing→consulting'];
const CONSULT_MENU = [...CONSULTING, 'consulting→consult_menu'];
const ANNOUNCING = [...MENU, 'collecting→announcing'];

interface Scenario {
  settings?: Partial<CompanySettings>;
  drive(r: Rig): Promise<void>;
  moves: string[];
}

/** A consultation the target answered, then `then`. */
function consultation(then: (r: Rig) => Promise<void>, moves: string[]): Scenario {
  return {
    settings: { externalTransfer: 'consult' },
    drive: async (r) => {
      await answered(r);
      await then(r);
    },
    moves,
  };
}

/** The agent hanging up in a consultation puts the customer through; the customer's ends it. */
function hangUpsInConsultation(): Record<string, Scenario> {
  const after = { agent: 'transferred', customer: 'ended' } as const;
  const out: Record<string, Scenario> = {};
  for (const party of ['agent', 'customer'] as const) {
    out[`consultation: the ${party} hangs up`] = consultation(
      (r) => r.hangup(party),
      [...CONSULTING, `consulting→${after[party]}`],
    );
    out[`consult menu: the ${party} hangs up`] = consultation(
      async (r) => {
        await r.press('agent', '*');
        await r.hangup(party);
      },
      [...CONSULT_MENU, `consult_menu→${after[party]}`],
    );
  }
  return out;
}

/** The customer hears an announced number, then `then`. */
function announcement(then: (r: Rig) => Promise<void>, moves: string[]): Scenario {
  return {
    drive: async (r) => {
      await r.press('agent', `*3${NUMBER}#`);
      await then(r);
    },
    moves: [...ANNOUNCING, ...moves],
  };
}

/** Each scenario drives the session by the parties' keys, hang-ups and the clock only. */
const SCENARIOS: Record<string, Scenario> = {
  'the agent hangs up while talking: the call is complete': {
    drive: (r) => r.hangup('agent'),
    moves: ['talking→ended'],
  },
  '* opens the menu, 5 goes back': {
    drive: async (r) => r.press('agent', '*5'),
    moves: ['talking→menu', 'menu→talking'],
  },
  'the customer hangs up in the menu': {
    drive: async (r) => {
      await r.press('agent', '*');
      await r.hangup('customer');
    },
    moves: ['talking→menu', 'menu→ended'],
  },
  '* while keying a number starts the menu again; no key for 10 s goes back': {
    drive: async (r) => {
      await r.press('agent', '*1*');
      await r.menuTimeout();
    },
    moves: [...MENU, 'collecting→menu', 'menu→talking'],
  },
  'no key for 10 s while keying a department goes back': {
    drive: async (r) => {
      await r.press('agent', '*2');
      await r.menuTimeout();
    },
    moves: [...MENU, 'collecting→talking'],
  },
  'a department transfer ends the session (the call is queued again)': {
    drive: (r) => r.press('agent', '*2200'),
    moves: [...MENU, 'collecting→ended'],
  },
  'waiting: * is the menu again, 5 is back, a hang-up ends it': {
    drive: async (r) => {
      await r.press('agent', '*4*4');
      await r.press('agent', '5');
      await r.press('agent', '*4');
      await r.hangup('customer');
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
      await r.press('agent', `*1${NUMBER}#`);
      r.dial().fail();
      await r.settle();
    },
    moves: [...DIALING, 'dialing→talking'],
  },
  'the customer hangs up while the target rings': {
    drive: async (r) => {
      await r.press('agent', `*1${NUMBER}#`);
      await r.hangup('customer');
    },
    moves: [...DIALING, 'dialing→ended'],
  },
  'a blind transfer answered, then the target hangs up': {
    drive: async (r) => {
      await answered(r);
      await r.hangup('target');
    },
    moves: [...DIALING, 'dialing→transferred', 'transferred→ended'],
  },
  'a colleague answers a blind transfer and takes the call': {
    drive: async (r) => {
      await r.press('agent', '*118#');
      r.dial().answer();
      await r.settle();
    },
    moves: [...DIALING, 'dialing→transferred', 'transferred→talking'],
  },
  'consultation: * opens the consult menu, no key goes back, * 5 drops the target': consultation(
    async (r) => {
      await r.press('agent', '*');
      await r.menuTimeout();
      await r.press('agent', '*5');
    },
    [...CONSULT_MENU, 'consult_menu→consulting', 'consulting→consult_menu', 'consult_menu→talking'],
  ),
  'consultation: the target hangs up, the agent is back': consultation(
    (r) => r.hangup('target'),
    [...CONSULTING, 'consulting→talking'],
  ),
  ...hangUpsInConsultation(),
  'announcement: the customer presses 2': announcement(
    (r) => r.press('customer', '2'),
    ['announcing→talking'],
  ),
  'announcement: the customer presses 1': announcement(
    (r) => r.press('customer', '1'),
    ['announcing→dialing'],
  ),
  'announcement: the customer hangs up': announcement((r) => r.hangup('customer'), ['announcing→ended']),
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

  it('a supervisor ends the call: both legs hung up, the outcome says so, the agent freed', async () => {
    const r = rig();
    const lines = await r.during(() => r.session.endBySupervisor());
    expect(lines).toEqual(
      expect.arrayContaining([
        'finish ended_by_supervisor',
        'customer local_hangup',
        'agent local_hangup',
        `release ${AGENT_ID}`,
      ]),
    );
    expect(r.state()).toBe('ended');
    expect(await r.session.endBySupervisor()).toBe(false);
  });

  it('a supervisor takes the talking agent out: the customer goes back to the head, never dropped', async () => {
    const r = rig();
    expect(await r.session.dropAgent(AGENT_ID + 1)).toBe(false);
    const lines = await r.during(() => r.session.dropAgent(AGENT_ID));
    expect(lines).toContain(`requeue ${r.call.department.code} head releasing ${AGENT_ID}`);
    expect(lines).not.toContain('customer local_hangup');
    expect(r.agent.endReason).toBe('supervisor');
  });

  it('after the end, late events change nothing', async () => {
    const r = rig();
    await r.hangup('customer');
    expect(await r.during(() => r.press('agent', '*'))).toEqual([]);
    expect(r.state()).toBe('ended');
    expect(r.script).toContain(`release ${AGENT_ID}`);
  });
});
