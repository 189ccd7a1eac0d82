import pino from 'pino';
import type { EndReason, PlayOutcome } from '../../../call/leg.ts';
import type { Playable } from '../../../media/media-session.ts';
import { DEFAULT_COMPANY_SETTINGS } from '../../../store/company-settings.ts';
import type { Agent, CompanySettings, Department } from '../../../store/store.ts';
import { FakeClock } from '../../../util/fake-clock.ts';
import type { Acceptance, Call, DialResult, Dialing, InCallWorld, Leg } from './ports.ts';
import { InCallCore } from './session.ts';
import type { InCallState } from './states.ts';

/**
 * Fakes of the in-call ports for the unit tests beside the tasks: legs that write what they
 * hear into one shared script, a desk and a telephony that record what was asked of them,
 * dials the test answers or fails by hand, and a fake clock for the menu timers.
 */

/** A played sound, by name: the fake sounds put the prompt ids where the real ones put files. */
function label(s: Playable): string {
  if (s.kind === 'tone') return `tone:${s.tone}`;
  if (s.kind === 'music') return 'music';
  return s.files.join(',');
}

export class FakeLeg implements Leg {
  ended = false;
  endReason: EndReason | undefined;
  private handler: ((digit: string) => void) | null = null;
  private readonly endedFns = new Set<(reason: EndReason) => void>();

  constructor(
    readonly name: string,
    private readonly script: string[],
  ) {}

  on(_event: 'ended', fn: (reason: EndReason) => void): () => void {
    this.endedFns.add(fn);
    return () => this.endedFns.delete(fn);
  }

  setDigitHandler(fn: ((digit: string) => void) | null): void {
    this.handler = fn;
  }

  /** The party presses a key. */
  press(keys: string): void {
    for (const k of keys) this.handler?.(k);
  }

  play(source: Playable): Promise<PlayOutcome> {
    if (this.ended) return Promise.resolve('hangup');
    this.script.push(`${this.name} hears ${label(source)}`);
    return Promise.resolve('done');
  }

  loop(source: Playable): void {
    if (!this.ended) this.script.push(`${this.name} hears ${label(source)} (loop)`);
  }

  silence(): void {
    if (!this.ended) this.script.push(`${this.name} hears silence`);
  }

  hangup(reason: EndReason = 'local_hangup'): Promise<void> {
    this.end(reason);
    return Promise.resolve();
  }

  /** The party's side ends (`remote_hangup`: they hung up; `media_timeout`: the phone died). */
  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    this.script.push(`${this.name} ${reason}`);
    for (const fn of this.endedFns) fn(reason);
  }
}

/** A dial the test settles: `answer()`, `fail()`; `cancelled` once the session stopped it. */
export class FakeDialing implements Dialing<FakeLeg> {
  leg: FakeLeg | undefined;
  cancelled = false;
  readonly result: Promise<DialResult<FakeLeg>>;
  private settle!: (r: DialResult<FakeLeg>) => void;

  constructor(
    readonly contact: string,
    private readonly script: string[],
    private readonly onProgress: (early: boolean) => void,
  ) {
    this.result = new Promise((resolve) => (this.settle = resolve));
  }

  /** 183 with early media from the target. */
  early(): void {
    this.leg = new FakeLeg('target', this.script);
    this.onProgress(true);
  }

  answer(): FakeLeg {
    const leg = this.leg ?? new FakeLeg('target', this.script);
    this.leg = leg;
    this.settle({ kind: 'answered', leg });
    return leg;
  }

  fail(kind: 'busy' | 'no_answer' | 'failed' = 'no_answer'): void {
    this.settle({ kind, status: kind === 'busy' ? 486 : 408, reason: kind });
  }

  cancel(): void {
    this.cancelled = true;
    this.script.push(`cancel ${this.contact}`);
    this.settle({ kind: 'cancelled', status: 487, reason: 'cancelled' });
  }
}

export const SALES: Department = {
  id: 2,
  companyId: 1,
  code: '200',
  name: 'Sales',
  strategy: 'round_robin',
  maxWaitSeconds: 300,
  maxQueueLength: 10,
  overflow: null,
} as Department;

const SUPPORT = { ...SALES, id: 1, code: '100', name: 'Support' } as Department;

export const AGENT_ID = 7;
export const COLLEAGUE: Agent = {
  id: 8,
  companyId: 1,
  login: '1008',
  name: 'Colleague',
  shortNumber: '18',
  contact: 'sip:colleague',
  sessionContact: null,
  departments: [],
  supervisor: false,
};

export interface Rig {
  readonly session: InCallCore<FakeLeg>;
  readonly customer: FakeLeg;
  readonly agent: FakeLeg;
  readonly call: Call<FakeLeg>;
  readonly clock: FakeClock;
  /** What the parties heard and what the session asked of Acd and the network, in order. */
  readonly script: string[];
  /** Every move of the session's machine, `from→to`. */
  readonly moves: string[];
  readonly dials: FakeDialing[];
  settings: CompanySettings;
  /** The colleague's accept key verdict. */
  acceptance: Acceptance;
  /** What the desk answers to `*7`. */
  recording: 'started' | 'stopped' | 'off' | 'failed';
  /** Lets the background handlers (keys, hang-ups, tasks) run to their next wait. */
  settle(): Promise<void>;
  /** A party presses keys, then the session settles. */
  press(party: 'agent' | 'customer', keys: string): Promise<void>;
  /** A party (the target: of the last dial) hangs up, then the session settles. */
  hangup(party: 'agent' | 'customer' | 'target'): Promise<void>;
  /** The menu's 10 s pass without a key. */
  menuTimeout(): Promise<void>;
  /** What `act` led to: the script's lines from it until the session settled. */
  during(act: () => unknown): Promise<string[]>;
  /** The last dial. */
  dial(): FakeDialing;
  state(): InCallState;
}

export const MENU_MS = 10_000;
export const CHOICE_MS = 15_000;

/** A connected call: customer and agent 7 talking; settings as given. */
export function rig(settings: Partial<CompanySettings> = {}): Rig {
  const script: string[] = [];
  const clock = new FakeClock();
  const customer = new FakeLeg('customer', script);
  const agent = new FakeLeg('agent', script);
  const dials: FakeDialing[] = [];
  const call: Call<FakeLeg> = {
    id: 'call-1',
    companyId: 1,
    leg: customer,
    department: SUPPORT,
    settings: { language: 'en' },
    agentIds: [AGENT_ID],
    talkMs: 0,
    agentTalkMs: new Map(),
    transfers: 0,
  };
  const r = {
    customer,
    agent,
    call,
    clock,
    script,
    moves: [] as string[],
    dials,
    settings: { ...DEFAULT_COMPANY_SETTINGS, allowedDestinations: ['agents', '+7*'], ...settings },
    acceptance: 'accepted' as Acceptance,
    recording: 'started' as Rig['recording'],
    async settle() {
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    },
    async press(party: 'agent' | 'customer', keys: string) {
      (party === 'agent' ? agent : customer).press(keys);
      await r.settle();
    },
    async hangup(party: 'agent' | 'customer' | 'target') {
      const leg = party === 'agent' ? agent : party === 'customer' ? customer : r.dial().leg;
      leg?.end('remote_hangup');
      await r.settle();
    },
    async menuTimeout() {
      clock.advance(MENU_MS);
      await r.settle();
    },
    async during(act: () => unknown) {
      const mark = script.length;
      await act();
      await r.settle();
      return script.slice(mark);
    },
    dial(): FakeDialing {
      const d = dials.at(-1);
      if (!d) throw new Error('nothing dialled');
      return d;
    },
    state: (): InCallState => session.state,
  };
  const say = (line: string): Promise<void> => {
    script.push(line);
    return Promise.resolve();
  };
  const world: InCallWorld<FakeLeg> = {
    call,
    desk: {
      settings: () => Promise.resolve(r.settings),
      releaseAgent: (id) => say(`release ${id}`),
      reserveAgent: (id) => say(`reserve ${id}`).then(() => true),
      settleReservedAgent: (id, answered) => say(`settle ${id} ${answered ? 'answered' : 'not answered'}`),
      requeue: (d, head, releasing) =>
        say(
          `requeue ${d.code}${head ? ' head' : ''}${releasing === undefined ? '' : ` releasing ${releasing}`}`,
        ),
      finish: (outcome) => say(`finish ${outcome}`),
      record: (kind, agentId, detail) => say(`record ${kind} ${agentId ?? '-'} ${detail ?? ''}`.trimEnd()),
      toggleRecording: () => say('toggle recording').then(() => r.recording),
    },
    telephony: {
      bridge: (a, b) => {
        script.push(`bridge ${a.name}+${b.name}`);
        return { a, b, unbridge: () => script.push(`unbridge ${a.name}+${b.name}`) };
      },
      dial: (contact, _settings, onProgress) => {
        script.push(`dial ${contact}`);
        const d = new FakeDialing(contact, script, onProgress);
        dials.push(d);
        return Promise.resolve(d);
      },
      accept: () => Promise.resolve(r.acceptance),
    },
    directory: {
      getDepartmentByCode: (_c, code) =>
        Promise.resolve([SALES, SUPPORT].find((d) => d.code === code) ?? null),
      getAgentByShortNumber: (_c, n) => Promise.resolve(n === COLLEAGUE.shortNumber ? COLLEAGUE : null),
      findAgentsByContact: () => Promise.resolve([]),
    },
    sounds: {
      tone: (tone) => ({ kind: 'tone', tone }),
      music: () => ({ kind: 'music', file: 'music' }),
      prompts: (_lang, files) => ({ kind: 'prompts', files }),
    },
    clock,
    log: pino({ level: 'silent' }),
    menuTimeoutMs: MENU_MS,
    announceChoiceMs: CHOICE_MS,
  };
  const session = new InCallCore(world, AGENT_ID, agent);
  session.machine.onChange(({ from, to }) => r.moves.push(`${from}→${to}`));
  return Object.assign(r, { session });
}
