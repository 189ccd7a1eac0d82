import type { Logger } from 'pino';
import type { MonitorTarget } from '../../acd/acd.ts';
import type { Leg } from '../../call/leg.ts';
import type { MediaMonitor, MonitorMode } from '../../media/media-session.ts';
import type { Clock } from '../../util/clock.ts';
import { StatefulFlow, type TransitionTable } from '../../util/state-machine.ts';

/**
 * A supervisor hearing an agent's call (issue 14 item 4; Asterisk ChanSpy, Connect
 * SILENT_MONITOR/BARGE): the mode is the state, the supervisor's keys move it.
 *
 *   starting ──▶ listen ⇄ whisper ⇄ barge      (1 listen, 2 whisper, 3 barge; each reaches each)
 *        └──────────┴─────────┴────────┴──▶ ended   (* or hang-up, the call's end, a transfer)
 *
 * Who hears whom in each mode is the mixer's (media/mixer.ts). A transfer, the agent's menu or
 * hold undo the bridge being heard and so end monitoring: the supervisor is back in the
 * service menu and may pick the agent again (following the call through a transfer to
 * whoever takes it would make the supervisor hear a colleague they did not choose).
 */
export type MonitorState = 'starting' | MonitorMode | 'ended';

export const MONITOR_TRANSITIONS: TransitionTable<MonitorState> = {
  starting: ['listen', 'whisper', 'barge', 'ended'],
  listen: ['whisper', 'barge', 'ended'],
  whisper: ['listen', 'barge', 'ended'],
  barge: ['listen', 'whisper', 'ended'],
  ended: [],
};

/** The supervisor's keys during monitoring. */
export const MONITOR_KEYS: Readonly<Record<string, MonitorMode>> = {
  '1': 'listen',
  '2': 'whisper',
  '3': 'barge',
};

/** Why monitoring ended: the supervisor (`*`, hang-up) or the call (`call_gone`: ended, transferred, menu). */
export type MonitorEnd = 'supervisor' | 'hangup' | 'call_gone';

export type MonitorEventKind = 'monitor_started' | 'monitor_mode' | 'monitor_stopped';

export interface MonitorPorts {
  clock: Clock;
  /** Starts the media side (the port's `monitor`); throws when the call is no longer bridged. */
  start(mode: MonitorMode): MediaMonitor;
  /** One journey event of the monitored call (the supervisor's login goes with it). */
  record(kind: MonitorEventKind, detail: { mode?: MonitorMode; end?: MonitorEnd }): Promise<void>;
  /** A background failure (a journey write): logged, never thrown at the caller. */
  failed(err: unknown): void;
}

export class MonitorSession extends StatefulFlow<MonitorState> {
  private media: MediaMonitor | undefined;
  private settle!: (end: MonitorEnd) => void;
  /** Resolves once, when monitoring ended, with why. */
  readonly ended: Promise<MonitorEnd> = new Promise((resolve) => (this.settle = resolve));

  constructor(private readonly ports: MonitorPorts) {
    super({ name: 'monitor', initial: 'starting', transitions: MONITOR_TRANSITIONS, clock: ports.clock });
  }

  /** Starts hearing the call in `mode`; false when the call could not be heard (not bridged any more). */
  start(mode: MonitorMode = 'listen'): boolean {
    if (!this.machine.is('starting')) return false;
    try {
      this.media = this.ports.start(mode);
    } catch {
      this.machine.transition('ended', 'not bridged');
      this.settle('call_gone');
      return false;
    }
    this.media.onEnded = () => this.end('call_gone');
    this.machine.transition(mode, 'started');
    this.bg(this.ports.record('monitor_started', { mode }));
    return true;
  }

  /** A supervisor's key: 1/2/3 change the mode, * ends; others do nothing. */
  key(digit: string): void {
    if (digit === '*') return this.end('supervisor');
    const mode = MONITOR_KEYS[digit];
    if (mode === undefined || this.machine.is('starting', 'ended') || this.state === mode) return;
    if (!this.machine.transition(mode, `key ${digit}`)) return;
    this.media?.setMode(mode);
    this.bg(this.ports.record('monitor_mode', { mode }));
  }

  /** Ends monitoring (idempotent): the pair goes back to hearing only each other. */
  end(why: MonitorEnd): void {
    if (!this.machine.transition('ended', why)) return;
    if (this.media?.active) this.media.stop();
    this.bg(this.ports.record('monitor_stopped', { end: why }));
    this.settle(why);
  }

  private bg(p: Promise<void>): void {
    p.catch((err: unknown) => this.ports.failed(err));
  }
}

/**
 * The supervisor's `leg` hears `target` in `mode` (a MonitorSession: its keys change the mode, `*`
 * or its hang-up end it) until monitoring ends; the service menu and the console's call to the
 * supervisor's phone (./monitor-call.ts) both run this. Undefined: the call could not be heard.
 */
export async function hearCall(
  leg: Leg,
  who: { supervisor: string; agent: string },
  target: MonitorTarget,
  mode: MonitorMode,
  deps: { clock: Clock; logger: Logger },
): Promise<MonitorEnd | undefined> {
  const log = deps.logger;
  const ids = { supervisor: who.supervisor, agent: who.agent, callId: target.callId };
  const session = new MonitorSession({
    clock: deps.clock,
    start: (m) =>
      leg.mediaSession.monitor(
        { customer: target.customer.mediaSession, agent: target.agent.mediaSession },
        m,
      ),
    record: (kind, detail) => target.record(kind, { supervisor: who.supervisor, ...detail }),
    failed: (err) => log.error({ err, callId: target.callId }, 'monitoring: journey not written'),
  });
  leg.silence();
  const offHangup = leg.on('ended', () => session.end('hangup'));
  leg.setDigitHandler((d) => session.key(d));
  try {
    if (leg.ended || !session.start(mode)) return undefined;
    log.info({ ...ids, mode }, 'monitoring started');
    const why = await session.ended;
    log.info({ ...ids, why }, 'monitoring ended');
    return why;
  } finally {
    leg.setDigitHandler(null);
    offHangup();
  }
}
