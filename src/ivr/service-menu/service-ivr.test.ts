/**
 * The service IVR's phases (IVR_PHASES) walked by its own script, without
 * sockets: a real Leg on a fake RTP session, a fake directory. Each scenario
 * is what the caller hears and does, prompt by prompt: keys (barge-in), the
 * prompt played to its end, the question left unanswered, or a hang-up.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { InboundCall } from '../../call/engine.ts';
import { fakeMedia, fakeSession } from '../../call/fake-media.ts';
import { Leg } from '../../call/leg.ts';
import type { Sounds } from '../../call/sounds.ts';
import type { AgentStateMachine } from '../../acd/agent-state.ts';
import type { Playable } from '../../media/media-session.ts';
import type { DirectoryStore } from '../../store/store.ts';
import { FakeClock } from '../../util/fake-clock.ts';
import { allMoves } from '../../util/state-machine.ts';
import { IVR_PHASES, ServiceIvrSession, type ServiceIvrTimings } from './service-ivr.ts';
import type { MonitorTarget } from '../../acd/acd.ts';

const TIMINGS: ServiceIvrTimings = { firstDigitMs: 1000, interDigitMs: 500, menuIdleMs: 800 };
const CALLER = '+79161234567';

/** `keys` pressed over the prompt; END: the prompt plays out; SILENCE: and no key follows; HANGUP. */
type Action = string;
const END = 'END';
const SILENCE = 'SILENCE';
const HANGUP = 'HANGUP';

interface World {
  /** The caller id is the agent's contact: no login asked. */
  knownCaller?: boolean;
  locked?: boolean;
  /** Runs inside the PIN check, before its verdict. */
  duringPinCheck?: (leg: Leg) => void;
  /** The agent is a supervisor, and agent 201 talks in a call they may hear (key 9). */
  supervisor?: boolean;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs one call: `steps` are [what the caller hears, what they do]; returns the moves and the writes. */
async function call(world: World, steps: [string, Action][]) {
  const clock = new FakeClock();
  const rtp = fakeMedia();
  const playing: string[] = [];
  rtp.play = (src: Playable) => {
    playing.push((src as unknown as { ids: string }).ids);
  };
  const leg = new Leg(
    'inbound',
    rtp,
    { host: '127.0.0.1', port: 40000, codecs: ['PCMU'], sessionId: 1 },
    CALLER,
    '9000',
    clock,
    pino({ level: 'silent' }),
  );
  const agent = {
    id: 7,
    login: '1001',
    companyId: 1,
    contact: CALLER,
    supervisor: world.supervisor ?? false,
  };
  const heard = { id: 8, login: '1002', companyId: 1, shortNumber: '201' };
  const writes: string[] = [];
  const directory = {
    findAgentsByContact: async (c: string) => (world.knownCaller && c === CALLER ? [agent] : []),
    getAgentByLogin: async (login: string) => (login === agent.login ? agent : null),
    getAgent: async (id: number) => (id === agent.id ? agent : null),
    getAgentByShortNumber: async (_c: number, n: string) => (n === heard.shortNumber ? heard : null),
    getCompany: async () => ({ settings: { language: 'ru', deliverTo: 'caller', minPinLength: 4 } }),
    pinLockedUntil: async () => (world.locked ? new Date(clock.wallNow() + 60_000) : null),
    attemptPin: async ({ pin }: { pin: string }) => {
      world.duringPinCheck?.(leg);
      return pin === '1234' ? { result: 'ok' } : { result: 'wrong', lockedLogin: false, lockedCaller: false };
    },
    setSessionContact: async (_id: number, c: string | null) => void writes.push(`contact ${c}`),
    setPin: async (_login: string, pin: string) => void writes.push(`pin ${pin}`),
  };
  const agentStates = {
    getState: async () => ({ state: 'logged_out' }),
    transition: async (_id: number, to: string) => void writes.push(`state ${to}`),
  };
  const sounds = {
    prompts: (_lang: string, ids: readonly string[]) => ({ ids: ids.join(',') }),
    tone: (kind: string) => ({ ids: `tone:${kind}` }),
  };
  const inbound = {
    leg,
    caller: CALLER,
    invite: { source: { address: '127.0.0.1' } },
    answer: async () => {
      leg.attach(fakeSession());
      return true;
    },
  };
  const ivr = new ServiceIvrSession(inbound as unknown as InboundCall, {
    directory: directory as unknown as DirectoryStore,
    auth: {} as never,
    agentStates: agentStates as unknown as AgentStateMachine,
    sounds: sounds as unknown as Sounds,
    clock,
    logger: pino({ level: 'silent' }),
    timings: TIMINGS,
    defaultLanguage: 'ru',
    availability: { enterMenu: () => Promise.resolve(), leaveMenu: () => Promise.resolve() },
    monitoring: {
      target: (id) =>
        id === heard.id
          ? ({
              callId: 'c1',
              customer: { mediaSession: fakeMedia() },
              agent: { mediaSession: fakeMedia() },
              record: () => Promise.resolve(),
            } as unknown as MonitorTarget)
          : undefined,
    },
  });
  const moves: string[] = [];
  ivr.onStateChange((c) => moves.push(`${c.from}>${c.to}`));
  const done = ivr.run();
  for (const [prompt, action] of steps) {
    const heard = playing.length;
    // '' : nothing new is played (monitoring): give the script time to get there.
    for (let i = 0; i < (prompt === '' ? 20 : 100) && (prompt === '' || playing.length === heard); i++)
      await turn();
    if (prompt !== '') expect(playing.at(-1), `while waiting for ${prompt}`).toBe(prompt);
    if (action === HANGUP) leg.end('remote_hangup');
    else if (action.startsWith(`${END}:`)) {
      for (const key of action.slice(END.length + 1))
        rtp.onEvent?.({ type: 'dtmf', digit: key, atMs: clock.now() });
      rtp.onEvent?.({ type: 'playEnded' });
    } else if (action === END || action === SILENCE) {
      rtp.onEvent?.({ type: 'playEnded' });
      if (action === SILENCE) {
        await turn();
        clock.advance(TIMINGS.firstDigitMs);
      }
    } else for (const key of action) rtp.onEvent?.({ type: 'dtmf', digit: key, atMs: clock.now() });
  }
  await done;
  return { moves, writes, phase: ivr.phase, leg };
}

const LOGIN: [string, Action][] = [
  ['enter_login', '1001#'],
  ['enter_pin', '1234#'],
  ['registered', END],
];

describe('ServiceIvrSession (IVR_PHASES)', () => {
  const seen = new Set<string>();
  const walk = async (world: World, steps: [string, Action][]) => {
    const r = await call(world, steps);
    for (const m of r.moves) seen.add(m);
    expect(r.phase).toBe('ended');
    expect(r.leg.ended).toBe(true);
    return r;
  };

  it('login, PIN, a weak new PIN, a new PIN changed, then * says goodbye', async () => {
    const { moves, writes } = await walk({}, [
      ...LOGIN,
      ['main_menu', '2'],
      ['new_pin', '1111#'],
      ['pin_weak', END],
      ['main_menu', '2'],
      ['new_pin', '4826#'],
      ['repeat_pin', '4826#'],
      ['pin_changed', END],
      ['main_menu', '*'],
      ['goodbye', END],
    ]);
    expect(writes).toEqual([`contact ${CALLER}`, 'state ready', 'pin 4826']);
    expect(moves).toEqual([
      'identify_login>identify_login',
      'identify_login>identify_pin',
      'identify_pin>menu',
      'menu>menu',
      'menu>pin_new',
      'pin_new>menu',
      'menu>menu',
      'menu>pin_new',
      'pin_new>pin_repeat',
      'pin_repeat>menu',
      'menu>menu',
      'menu>ending',
      'ending>ended',
    ]);
  });

  it('no login, an unknown login, no login again: three failures end the call from identify_login', async () => {
    const { moves } = await walk({}, [
      ['enter_login', SILENCE],
      ['enter_login', '9999#'],
      ['unknown_login', END],
      ['enter_login', SILENCE],
      ['goodbye', END],
    ]);
    expect(moves.slice(-2)).toEqual(['identify_login>ending', 'ending>ended']);
  });

  it('a wrong PIN asks for the login again; a hang-up there ends the machine at once', async () => {
    const { moves } = await walk({}, [
      ['enter_login', '1001#'],
      ['enter_pin', '0000#'],
      ['wrong_pin', END],
      ['enter_login', HANGUP],
    ]);
    expect(moves).toEqual([
      'identify_login>identify_login',
      'identify_login>identify_pin',
      'identify_pin>identify_login',
      'identify_login>ended',
    ]);
  });

  it('a known caller id is asked the PIN again after a wrong one, and may hang up there', async () => {
    const { moves } = await walk({ knownCaller: true }, [
      ['enter_pin', '0000#'],
      ['wrong_pin', END],
      ['enter_pin', HANGUP],
    ]);
    expect(moves).toEqual(['identify_login>identify_pin', 'identify_pin>identify_pin', 'identify_pin>ended']);
  });

  it('a locked caller is refused from identify_pin with a goodbye', async () => {
    const { moves } = await walk({ knownCaller: true, locked: true }, [
      ['locked', END],
      ['goodbye', END],
    ]);
    expect(moves).toEqual(['identify_login>identify_pin', 'identify_pin>ending', 'ending>ended']);
  });

  it('hang-ups in the menu, in the new PIN and in its repeat end the machine from there', async () => {
    const menu = await walk({}, [...LOGIN, ['main_menu', HANGUP]]);
    expect(menu.moves.at(-1)).toBe('menu>ended');
    const fresh = await walk({}, [...LOGIN, ['main_menu', '2'], ['new_pin', HANGUP]]);
    expect(fresh.moves.at(-1)).toBe('pin_new>ended');
    const repeat = await walk({}, [
      ...LOGIN,
      ['main_menu', '2'],
      ['new_pin', '4826#'],
      ['repeat_pin', HANGUP],
    ]);
    expect(repeat.moves.at(-1)).toBe('pin_repeat>ended');
    expect(repeat.writes).not.toContain('pin 4826');
  });

  it('refuses ended → menu: a hang-up while the PIN is checked logs nobody in', async () => {
    const { moves, writes, phase } = await call({ duringPinCheck: (leg) => leg.end('remote_hangup') }, [
      ['enter_login', '1001#'],
      ['enter_pin', '1234#'],
    ]);
    expect(phase).toBe('ended');
    expect(moves.at(-1)).toBe('identify_pin>ended');
    expect(writes).toEqual([]);
  });

  it('key 9 (supervisors): the agent by short number, then * back to the menu or a hang-up', async () => {
    const back = await walk({ supervisor: true }, [
      ...LOGIN,
      ['main_menu', '9'],
      ['tone:accept', `${END}:201#`],
      ['', '*'],
      ['main_menu', HANGUP],
    ]);
    expect(back.moves).toEqual(
      expect.arrayContaining(['menu>monitor_select', 'monitor_select>monitoring', 'monitoring>menu']),
    );
    const gone = await walk({ supervisor: true }, [
      ...LOGIN,
      ['main_menu', '9'],
      ['tone:accept', `${END}:201#`],
      ['', HANGUP],
    ]);
    expect(gone.moves.at(-1)).toBe('monitoring>ended');
  });

  it('key 9: an agent in no call is the error beep, back to the menu; a hang-up while choosing ends', async () => {
    const none = await walk({ supervisor: true }, [
      ...LOGIN,
      ['main_menu', '9'],
      ['tone:accept', `${END}:299#`],
      ['tone:error', END],
      ['main_menu', HANGUP],
    ]);
    expect(none.moves).toEqual(expect.arrayContaining(['monitor_select>menu']));
    const left = await walk({ supervisor: true }, [...LOGIN, ['main_menu', '9'], ['tone:accept', HANGUP]]);
    expect(left.moves.at(-1)).toBe('monitor_select>ended');
    const agent = await walk({}, [...LOGIN, ['main_menu', '9'], ['tone:error', END], ['main_menu', HANGUP]]);
    expect(agent.moves).not.toContain('menu>monitor_select');
  });

  it('walked every move of the table', () => {
    expect([...seen].sort()).toEqual(allMoves(IVR_PHASES).sort());
  });
});
