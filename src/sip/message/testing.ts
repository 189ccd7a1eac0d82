/** For tests: a SIP message from bytes that must parse (a failure is the test's failure). */
import { parseMessage } from './parse.ts';
import type { SipMessage } from './types.ts';

export function parseOrThrow(buf: Buffer): SipMessage {
  const r = parseMessage(buf);
  if (!r.ok) throw new Error(`unparseable: ${r.error}`);
  return r.message;
}
