import type { Clock } from '../../util/clock.ts';
import { getHeaderValues } from '../message/headers.ts';
import type { SipResponse } from '../message/types.ts';
import type { Allowance } from './rate-limiter.ts';
import type { AllowanceSource, SourceKind } from './invite-admission.ts';

/**
 * Source addresses that registered successfully (a 200 to a REGISTER that
 * passed digest authentication), until their bindings expire: the phones of our
 * agents. They get the higher allowance; a phone's NAT neighbours share it.
 * Only authenticated registrations get in, so the map is as big as the accounts.
 */
export class RegisteredSources implements AllowanceSource {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly allowance: Allowance,
  ) {}

  /** After a 200 to a REGISTER from `address`: remembered as long as its longest binding. */
  noteRegistered(address: string, lifetimeS: number): void {
    if (lifetimeS <= 0) return;
    const at = this.clock.now() + lifetimeS * 1000;
    this.until.set(address, Math.max(at, this.until.get(address) ?? 0));
  }

  allowanceFor(address: string): { kind: SourceKind; allowance: Allowance } | undefined {
    const until = this.until.get(address);
    if (until === undefined) return undefined;
    if (until <= this.clock.now()) {
      this.until.delete(address);
      return undefined;
    }
    return { kind: 'registered', allowance: this.allowance };
  }
}

/** The longest binding a 200 to a REGISTER grants, in seconds (its Contacts' expires, §10.3 step 8). */
export function registrationLifetimeS(res: SipResponse): number {
  if (res.status < 200 || res.status >= 300) return 0;
  let max = 0;
  for (const c of getHeaderValues(res, 'contact')) {
    for (const m of c.matchAll(/;\s*expires\s*=\s*(\d{1,10})/gi)) max = Math.max(max, Number(m[1]));
  }
  return max;
}

/** Fixed addresses of one kind, e.g. the `--trunk` host: a trunk table would be another source. */
export class StaticSources implements AllowanceSource {
  private readonly addresses: Set<string>;

  constructor(
    private readonly kind: SourceKind,
    addresses: string[],
    private readonly allowance: Allowance,
  ) {
    this.addresses = new Set(addresses);
  }

  allowanceFor(address: string): { kind: SourceKind; allowance: Allowance } | undefined {
    return this.addresses.has(address) ? { kind: this.kind, allowance: this.allowance } : undefined;
  }
}
