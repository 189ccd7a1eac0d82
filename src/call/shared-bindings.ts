import type { Logger } from 'pino';
import { parseNameAddr } from '../sip/message/headers.ts';
import type { Endpoint } from '../sip/transport/transport.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Binding, BindingLookup } from './contact-resolver.ts';

/** A registration as the store keeps it (store.StoredSipBinding's fields that routing needs). */
export interface SharedBindingRow {
  aor: string;
  contact: string;
  /** Wall-clock ms. */
  expiresAt: number;
  source: Endpoint;
}

/**
 * SIP phones' registrations across the nodes behind a front proxy
 * (docs/scale-out.md): a phone registers through Kamailio at one node, and the
 * customer's call it must ring may sit on another. Every node writes its
 * bindings through to the shared store; this reads the others' back every
 * `intervalMs`. Its own registrar answers first (freshest); a binding only
 * another node holds is used until it expires or leaves the store.
 */
export class SharedBindings implements BindingLookup {
  private byUser = new Map<string, { binding: Binding; expiresAt: number }[]>();
  private timer: TimerHandle | undefined;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly local: BindingLookup,
    private readonly o: {
      clock: Clock;
      load: (now: number) => Promise<SharedBindingRow[]>;
      intervalMs: number;
      logger: Pick<Logger, 'warn' | 'info'>;
    },
  ) {}

  lookup(user: string): Binding[] {
    const own = this.local.lookup(user);
    if (own.length > 0) return own;
    const now = this.o.clock.wallNow();
    return (this.byUser.get(user) ?? []).filter((b) => b.expiresAt > now).map((b) => b.binding);
  }

  /** Reads the store now, then every interval until stop(). */
  async start(): Promise<void> {
    await this.refresh();
  }

  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimeout(this.timer);
  }

  private async refresh(): Promise<void> {
    try {
      this.replace(await this.o.load(this.o.clock.wallNow()));
      if (this.failing) this.o.logger.info('shared SIP registrations readable again');
      this.failing = false;
    } catch (err) {
      // The last view is kept: phones registered elsewhere stay reachable until they expire.
      if (!this.failing)
        this.o.logger.warn({ err }, 'cannot read the SIP registrations of the other nodes from the store');
      this.failing = true;
    }
    if (!this.stopped) this.timer = this.o.clock.setTimeout(() => void this.refresh(), this.o.intervalMs);
  }

  private replace(rows: readonly SharedBindingRow[]): void {
    const next = new Map<string, { binding: Binding; expiresAt: number }[]>();
    for (const r of rows) {
      const contact = parseNameAddr(r.contact);
      if (!contact) continue;
      const list = next.get(r.aor) ?? [];
      list.push({ binding: { contact: contact.uri, source: { ...r.source } }, expiresAt: r.expiresAt });
      next.set(r.aor, list);
    }
    this.byUser = next;
  }
}
