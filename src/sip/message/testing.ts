/** For tests: a SIP message from bytes that must parse (a failure is the test's failure). */
import { expect, it } from 'vitest';
import { parseMessage } from './parse.ts';
import type { HeaderField, SipMessage } from './types.ts';

export function parseOrThrow(buf: Buffer): SipMessage {
  const r = parseMessage(buf);
  if (!r.ok) throw new Error(`unparseable: ${r.error}`);
  return r.message;
}

/** One test per malformed input: `parse` answers undefined, never a half-parsed value. */
export function itRejects(parse: (text: string) => unknown, inputs: readonly string[]): void {
  it.each(inputs)('rejects the malformed value %j', (bad) => {
    expect(parse(bad)).toBeUndefined();
  });
}

/** A message that is only its headers, from name/value pairs (for header readers). */
export const withHeaders = (...pairs: [string, string][]): { headers: HeaderField[] } => ({
  headers: pairs.map(([name, value]) => ({ name, value })),
});
