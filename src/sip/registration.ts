/**
 * The client side of registration (RFC 3261 §10.2) and of OPTIONS keep-alive
 * probing ("qualify"), as a PBX does it towards a SIP trunk.
 *
 * A RegistrationClient keeps one binding alive: REGISTER with our Contact,
 * answered challenges (through the UA's digest retry), a refresh before the
 * granted expiry, and back-off after a failure. States:
 *
 *   off → registering → registered → (refresh) registering → …
 *                    ↘ failed → (back-off) registering
 *   any → off (stop: an Expires: 0 REGISTER removes the binding)
 *
 * A Qualifier sends OPTIONS every interval: any response (even 404 or 407)
 * means the trunk is up, no response means down.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { StatefulFlow, type TransitionTable } from '../util/state-machine.ts';
import { newCallId, newTag } from './dialog/dialog.ts';
import { getHeader, getHeaderValues, parseNameAddr } from './message/headers.ts';
import type { SipRequest, SipResponse, SipUri } from './message/types.ts';
import { formatUri } from './message/uri.ts';
import type { Endpoint } from './transport/transport.ts';
import type { OutboundAuth } from './ua/outgoing-invite.ts';
import type { UserAgent } from './ua/user-agent.ts';
import { buildRequest } from './message/build.ts';

export type RegistrationState = 'off' | 'registering' | 'registered' | 'failed';

export const REGISTRATION_TRANSITIONS: TransitionTable<RegistrationState> = {
  off: ['registering'],
  registering: ['registered', 'failed', 'off'],
  registered: ['registering', 'off'],
  failed: ['registering', 'off'],
};

export interface RegistrationTimings {
  /** Expiry we ask for, seconds. */
  expiresS: number;
  /** First back-off after a failure, ms; doubles up to maxRetryMs. */
  retryMs: number;
  maxRetryMs: number;
}

export const DEFAULT_REGISTRATION_TIMINGS: RegistrationTimings = {
  expiresS: 600,
  retryMs: 10_000,
  maxRetryMs: 300_000,
};

export interface RegistrationStatus {
  state: RegistrationState;
  /** Wall ms of the last state change. */
  since: number;
  /** Granted expiry of the current binding, seconds. */
  expiresS?: number;
  /** Last failure: SIP status (408 when nothing answered) and reason. */
  lastStatus?: number;
  lastReason?: string;
  /** Wall ms of the next REGISTER. */
  nextAt?: number;
}

export interface RegistrationOptions {
  ua: UserAgent;
  clock: Clock;
  logger: Logger;
  /** The trunk's name, for log lines. */
  label: string;
  /** Registrar address (R-URI `sip:host[:port]`) and where to send. */
  registrar: SipUri;
  destination: Endpoint;
  /** Address-of-record user (the account's username). */
  user: string;
  auth?: OutboundAuth;
  timings?: RegistrationTimings;
  onChange?: (status: RegistrationStatus) => void;
}

export class RegistrationClient extends StatefulFlow<RegistrationState> {
  private status: RegistrationStatus;
  private readonly callId = newCallId();
  private readonly tag = newTag();
  private cseq = 1;
  private failures = 0;
  private readonly timings: RegistrationTimings;
  private readonly log: Logger;

  constructor(private readonly opts: RegistrationOptions) {
    super({ name: 'registration', initial: 'off', transitions: REGISTRATION_TRANSITIONS, clock: opts.clock });
    this.timings = opts.timings ?? DEFAULT_REGISTRATION_TIMINGS;
    this.log = opts.logger;
    this.status = { state: 'off', since: opts.clock.wallNow() };
  }

  get current(): RegistrationStatus {
    return { ...this.status };
  }

  start(): void {
    if (this.status.state !== 'off') return;
    void this.register();
  }

  /** Removes the binding (Expires: 0) and stops refreshing. */
  async stop(): Promise<void> {
    const was = this.status.state;
    // Leaving registered/failed clears the pending REGISTER with them.
    this.transition('off', 'stopped', {});
    // Also mid-refresh: the carrier may already hold the binding we are renewing.
    if (was === 'registered' || was === 'registering')
      await this.opts.ua.request(this.build(0), this.opts.destination, this.opts.auth).catch(() => undefined);
  }

  /**
   * The last state other than `registering`: a refresh goes registered →
   * registering → registered and is neither logged nor shown as a change.
   */
  private settled: RegistrationState = 'off';

  /** What the API shows: "registered" | "failed" | "off" (a refresh in flight is still registered). */
  get publicState(): 'registered' | 'failed' | 'off' {
    if (this.status.state === 'off') return 'off';
    const s = this.status.state === 'registering' ? this.settled : this.status.state;
    return s === 'registered' ? 'registered' : 'failed';
  }

  private transition(to: RegistrationState, reason: string, extra: Partial<RegistrationStatus>): void {
    const from = this.status.state;
    if (!this.machine.transition(to, reason)) return;
    this.status = { state: to, since: from === to ? this.status.since : this.opts.clock.wallNow(), ...extra };
    if (to === 'registering') return;
    const line = { trunk: this.opts.label, state: to, ...extra };
    if (to === 'registered' && this.settled !== 'registered') this.log.info(line, 'trunk registered');
    if (to === 'failed' && this.settled !== 'failed') this.log.warn(line, 'trunk registration failed');
    if (to === 'off' && this.settled !== 'off') this.log.info(line, 'trunk registration off');
    const changed = this.settled !== to;
    this.settled = to;
    if (changed) this.opts.onChange?.(this.current);
  }

  private build(expires: number): SipRequest {
    const { ua, registrar, destination, user } = this.opts;
    const aor = `<sip:${user}@${registrar.host}${registrar.port ? `:${registrar.port}` : ''}>`;
    const seq = this.cseq;
    // The UA's digest retry uses seq + 1: leave room for it.
    this.cseq += 2;
    return buildRequest('REGISTER', registrar, {
      via: ua.viaFor(destination.transport, destination.address),
      from: `${aor};tag=${this.tag}`,
      to: aor,
      callId: this.callId,
      cseq: seq,
      headers: [
        { name: 'Contact', value: ua.contactFor(destination.transport, user, destination.address) },
        { name: 'Expires', value: String(expires) },
        { name: 'User-Agent', value: 'AgentLine' },
      ],
    });
  }

  private async register(): Promise<void> {
    this.transition(
      'registering',
      'register',
      this.status.state === 'registered' ? { expiresS: this.status.expiresS } : {},
    );
    // A send that throws (transport error) is a failure like no answer: retried with back-off.
    const res = await this.opts.ua
      .request(this.build(this.timings.expiresS), this.opts.destination, this.opts.auth)
      .catch(() => undefined);
    if (this.status.state !== 'registering') return; // stopped meanwhile
    if (res && res.status >= 200 && res.status < 300) {
      this.failures = 0;
      const granted = grantedExpiry(res, this.timings.expiresS);
      // Refresh well before expiry (half-way for short bindings, 80 % otherwise), never under 1 s.
      const refreshMs = Math.max(1000, (granted > 120 ? granted * 0.8 : granted / 2) * 1000);
      this.transition('registered', '2xx', {
        expiresS: granted,
        nextAt: this.opts.clock.wallNow() + refreshMs,
      });
      this.schedule(refreshMs);
      return;
    }
    this.failures++;
    const backoff = Math.min(this.timings.maxRetryMs, this.timings.retryMs * 2 ** (this.failures - 1));
    this.transition('failed', 'no 2xx', {
      lastStatus: res?.status ?? 408,
      lastReason: res?.reason ?? 'No response',
      nextAt: this.opts.clock.wallNow() + backoff,
    });
    this.schedule(backoff);
  }

  /** The next REGISTER: owned by the state just entered (registered or failed), cleared by stop(). */
  private schedule(ms: number): void {
    this.machine.arm(ms, () => void this.register());
  }
}

/** §10.2.4: the expiry the registrar granted our binding — Contact's expires param, else Expires. */
function grantedExpiry(res: SipResponse, asked: number): number {
  for (const value of getHeaderValues(res, 'contact')) {
    for (const part of value.split(/,(?=\s*(?:"[^"]*"\s*)?<)/)) {
      const na = parseNameAddr(part);
      const e = na?.params.get('expires');
      if (typeof e === 'string' && /^\d+$/.test(e)) return Number(e);
    }
  }
  const header = getHeader(res, 'expires');
  if (header !== undefined && /^\d+$/.test(header.trim())) return Number(header.trim());
  return asked;
}

export type QualifyStatus = 'up' | 'down' | 'unknown';

export interface QualifierOptions {
  ua: UserAgent;
  clock: Clock;
  logger: Logger;
  label: string;
  target: SipUri;
  destination: Endpoint;
  intervalMs: number;
  onChange?: (status: QualifyStatus) => void;
}

/** OPTIONS every interval; any answer is "up", none is "down" (logged on each change). */
export class Qualifier {
  status: QualifyStatus = 'unknown';
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly opts: QualifierOptions) {}

  start(): void {
    void this.probe();
  }

  stop(): void {
    this.stopped = true;
    this.opts.clock.clearTimeout(this.timer);
  }

  private async probe(): Promise<void> {
    const { ua, destination, target } = this.opts;
    const req = buildRequest('OPTIONS', target, {
      via: ua.viaFor(destination.transport, destination.address),
      from: `<sip:agentline@${target.host}>;tag=${newTag()}`,
      to: `<${formatUri(target)}>`,
      callId: newCallId(),
      cseq: 1,
      headers: [{ name: 'Accept', value: 'application/sdp' }],
    });
    const res = await ua.request(req, destination).catch(() => undefined);
    if (this.stopped) return;
    const next: QualifyStatus = res ? 'up' : 'down';
    if (next !== this.status) {
      const line = { trunk: this.opts.label, status: next, sipStatus: res?.status };
      if (next === 'down') this.opts.logger.warn(line, 'trunk is down (no answer to OPTIONS)');
      else this.opts.logger.info(line, 'trunk is up');
      this.status = next;
      this.opts.onChange?.(next);
    }
    this.timer = this.opts.clock.setTimeout(() => void this.probe(), this.opts.intervalMs);
  }
}
