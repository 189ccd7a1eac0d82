/**
 * SIP trunks at run time (issue 9): the trunks in the store, each with its
 * digest credentials, registration and OPTIONS probe. Outbound routing asks
 * it for a company's trunks in failover order; the inbound filter asks it
 * whether an INVITE's source address belongs to a trunk.
 *
 * Secrets stay here and in the digest client: `view()` and every log line
 * name a trunk, never its password.
 */
import { BlockList, isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Clock } from '../util/clock.ts';
import {
  parseTrunk,
  type OutboundTrunk,
  type TrunkConfig,
  type TrunkLookup,
} from '../call/contact-resolver.ts';
import { parseUri } from '../sip/message/uri.ts';
import { DigestClient } from '../sip/registrar/digest-client.ts';
import {
  Qualifier,
  RegistrationClient,
  type QualifyStatus,
  type RegistrationStatus,
  type RegistrationTimings,
} from '../sip/registration.ts';
import type { OutboundAuth } from '../sip/ua/outgoing-invite.ts';
import type { UserAgent } from '../sip/ua/user-agent.ts';
import type { Trunk, TrunkStore } from '../store/store.ts';
import type { TrunkRegistrationState } from '../store/vocabulary.ts';

export interface TrunkTimings {
  registration?: RegistrationTimings;
  /** Overrides every trunk's qualifySeconds (tests). */
  qualifyMs?: number;
}

export interface TrunksOptions {
  store: TrunkStore;
  ua: UserAgent;
  clock: Clock;
  logger: Logger;
  timings?: TrunkTimings;
}

/** A trunk as the API shows it: everything but the password. */
export type TrunkView = Omit<Trunk, 'password'> & {
  hasPassword: boolean;
  registration: { state: TrunkRegistrationState } & Omit<RegistrationStatus, 'state'>;
  status: QualifyStatus;
};

class LiveTrunk {
  readonly config: TrunkConfig;
  readonly auth: OutboundAuth | undefined;
  registration: RegistrationClient | undefined;
  qualifier: Qualifier | undefined;
  readonly inbound = new BlockList();

  constructor(
    readonly trunk: Trunk,
    /** Stored form, to tell whether an edit changed anything. */
    readonly fingerprint: string,
  ) {
    const config = parseTrunk(trunk.uri);
    if (!config) throw new Error(`trunk ${trunk.name}: bad uri`);
    this.config = config;
    this.auth =
      trunk.username !== null && trunk.password !== null
        ? {
            client: new DigestClient({
              username: trunk.username,
              password: trunk.password,
              realm: trunk.realm ?? undefined,
            }),
            label: trunk.name,
          }
        : undefined;
    for (const entry of trunk.inbound) addToBlockList(this.inbound, entry);
    // A trunk we register with sends its calls from its own address.
    if (trunk.register) addToBlockList(this.inbound, config.host);
  }

  get status(): QualifyStatus {
    if (this.qualifier) return this.qualifier.status;
    const r = this.registration?.publicState;
    return r === 'registered' ? 'up' : r === 'failed' ? 'down' : 'unknown';
  }

  hasSource(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    return this.inbound.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  stop(): Promise<void> {
    this.qualifier?.stop();
    return this.registration?.stop() ?? Promise.resolve();
  }
}

function addToBlockList(list: BlockList, entry: string): void {
  const [ip = '', bits] = entry.split('/');
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  if (bits === undefined) list.addAddress(ip, family);
  else list.addSubnet(ip, Number(bits), family);
}

export class Trunks implements TrunkLookup {
  private live = new Map<string, LiveTrunk>();
  private readonly log: Logger;
  private stopped = false;

  constructor(private readonly opts: TrunksOptions) {
    this.log = opts.logger;
  }

  /** `--trunk URI`: creates or updates the unauthenticated trunk `default`. */
  async ensureDefault(uri: string): Promise<void> {
    const parsed = parseTrunk(uri);
    if (!parsed) return;
    const host = parsed.host.includes(':') ? `[${parsed.host}]` : parsed.host;
    const normal = `sip:${host}:${parsed.port}${parsed.transport === 'udp' ? '' : `;transport=${parsed.transport}`}`;
    const existing = await this.opts.store.get('default');
    // The shortcut's trunk is one that asks nothing: no credentials, no registration, no probing.
    const fields = {
      uri: normal,
      username: null,
      password: null,
      realm: null,
      register: false,
      qualifySeconds: 0,
    };
    if (existing) await this.opts.store.update('default', fields);
    else await this.opts.store.create({ name: 'default', ...fields });
  }

  /** (Re)reads the store: new trunks start, changed ones restart, removed ones stop. */
  async reload(): Promise<void> {
    if (this.stopped) return;
    const next = new Map<string, LiveTrunk>();
    const stopping: Promise<void>[] = [];
    for (const trunk of await this.opts.store.list()) {
      const fingerprint = JSON.stringify(trunk);
      const current = this.live.get(trunk.name);
      if (current && current.fingerprint === fingerprint) {
        next.set(trunk.name, current);
        continue;
      }
      if (current) stopping.push(current.stop());
      try {
        const lt = new LiveTrunk(trunk, fingerprint);
        this.start(lt);
        next.set(trunk.name, lt);
      } catch (err) {
        this.log.warn({ trunk: trunk.name, err: (err as Error).message }, 'trunk not usable');
      }
    }
    for (const [name, lt] of this.live) if (!next.has(name)) stopping.push(lt.stop());
    this.live = next;
    await Promise.all(stopping);
  }

  private start(lt: LiveTrunk): void {
    const { ua, clock } = this.opts;
    const { trunk, config } = lt;
    const destination = { transport: config.transport, address: config.host, port: config.port };
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const target = parseUri(`sip:${host}:${config.port}`);
    if (!target) return;
    if (trunk.register && trunk.username !== null) {
      lt.registration = new RegistrationClient({
        ua,
        clock,
        logger: this.log,
        label: trunk.name,
        registrar: target,
        destination,
        user: trunk.username,
        auth: lt.auth,
        timings: this.opts.timings?.registration,
      });
      lt.registration.start();
    }
    const qualifyMs =
      trunk.qualifySeconds === 0 ? 0 : (this.opts.timings?.qualifyMs ?? trunk.qualifySeconds * 1000);
    if (qualifyMs > 0) {
      lt.qualifier = new Qualifier({
        ua,
        clock,
        logger: this.log,
        label: trunk.name,
        target,
        destination,
        intervalMs: qualifyMs,
      });
      lt.qualifier.start();
    }
  }

  /** TrunkLookup: the company's trunks by priority; trunks known to be down go last. */
  outbound(companyId: number | undefined): OutboundTrunk[] {
    const out: OutboundTrunk[] = [];
    for (const lt of this.live.values()) {
      const t = lt.trunk;
      if (companyId !== undefined && t.companies.length > 0 && !t.companies.includes(companyId)) continue;
      out.push({
        ...lt.config,
        name: t.name,
        priority: t.priority,
        auth: lt.auth,
        status: lt.status,
        numberFormat: t.numberFormat,
        inbandDtmf: t.inbandDtmf,
        srtp: t.srtp,
      });
    }
    const rank = (s: QualifyStatus): number => (s === 'down' ? 1 : 0);
    return out.sort(
      (a, b) => rank(a.status) - rank(b.status) || a.priority - b.priority || a.name.localeCompare(b.name),
    );
  }

  /** The trunk an INVITE from this address came through, if any. */
  trunkForSource(address: string): Trunk | undefined {
    for (const lt of this.live.values()) if (lt.hasSource(address)) return lt.trunk;
    return undefined;
  }

  view(trunk: Trunk): TrunkView {
    const lt = this.live.get(trunk.name);
    const { password, ...rest } = trunk;
    const reg = lt?.registration;
    const registration = reg
      ? { ...reg.current, state: reg.publicState }
      : { state: 'off' as const, since: this.opts.clock.wallNow() };
    return { ...rest, hasPassword: password !== null, registration, status: lt?.status ?? 'unknown' };
  }

  /** For /metrics: one row per trunk. */
  snapshot(): { name: string; registered: boolean | undefined; status: QualifyStatus }[] {
    return [...this.live.values()].map((lt) => ({
      name: lt.trunk.name,
      registered: lt.registration ? lt.registration.publicState === 'registered' : undefined,
      status: lt.status,
    }));
  }

  /** Shutdown: unregister (Expires: 0) and stop probing. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.live.values()].map((lt) => lt.stop()));
    this.live.clear();
  }
}
