/**
 * Digit collection rules (max, terminator, first-digit and inter-digit
 * timeouts) as a small pure reducer, so the same logic serves every menu.
 */
export interface CollectOptions {
  /** Stop after this many digits (terminator not counted). */
  max: number;
  /** A key that ends input and is not part of it, usually '#'. */
  terminator?: string;
  /** Wait this long for the first key. */
  firstDigitTimeoutMs: number;
  /** Wait this long between keys. */
  interDigitTimeoutMs: number;
}

export type CollectEnd = 'max' | 'terminator' | 'timeout' | 'hangup';

export interface CollectResult {
  digits: string;
  reason: CollectEnd;
}

/** Feeds one key into a collection; returns the result when the collection is over. */
export function feedDigit(
  opts: CollectOptions,
  sofar: string,
  digit: string,
): CollectResult | { digits: string } {
  if (opts.terminator !== undefined && digit === opts.terminator)
    return { digits: sofar, reason: 'terminator' };
  const digits = sofar + digit;
  if (digits.length >= opts.max) return { digits, reason: 'max' };
  return { digits };
}
