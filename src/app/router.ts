import type { InboundCall } from '../call/engine.ts';
import { normaliseNumber, type Country } from '../util/phone-number.ts';

/** A service reachable by dialling a number. */
export type CallHandler = (call: InboundCall) => Promise<void>;

/**
 * Routes an inbound call by its Request-URI user part (SPEC §2). Numbers are
 * compared as dialled, in their normalised E.164 form (8…, 7…, 00… → +…) in
 * each dial plan the call may belong to (the countries of the companies it
 * may be for, RU by default), and with a leading '+' added or removed, since
 * trunks differ in how they present E.164.
 */
export class NumberRouter {
  private readonly exact = new Map<string, CallHandler>();
  private fallback: ((number: string) => Promise<CallHandler | undefined>) | undefined;

  add(number: string, handler: CallHandler): void {
    this.exact.set(number, handler);
  }

  /** A lookup for numbers kept elsewhere (hotlines in the directory). */
  setFallback(fn: (number: string) => Promise<CallHandler | undefined>): void {
    this.fallback = fn;
  }

  async resolve(number: string, countries: readonly Country[] = ['RU']): Promise<CallHandler | undefined> {
    const normal = countries.map((c) => normaliseNumber(number, c));
    const variants = [
      ...new Set([number, ...normal, number.startsWith('+') ? number.slice(1) : `+${number}`]),
    ];
    for (const v of variants) {
      const h = this.exact.get(v) ?? (await this.fallback?.(v));
      if (h) return h;
    }
    return undefined;
  }
}
