/**
 * DTMF carried in SIP INFO bodies (no RFC; de-facto formats):
 *
 * - `application/dtmf-relay`: lines `Signal=5` and `Duration=160`, keys case-insensitive,
 *   any spacing around `=` (`Signal= *`), CRLF or LF line ends. Some phones send the
 *   RFC 4733 event number instead of the character: `Signal=10` → `*`, `Signal=11` → `#`,
 *   12-15 → A-D.
 * - `application/dtmf`: the body is just the digit (`5`), or an event number as above.
 *
 * Returns the digit (0-9 * # A-D) or undefined when the body holds none.
 */

import { dtmfDigit } from './rfc4733.ts';

function normaliseSignal(raw: string): string | undefined {
  const v = raw.trim().toUpperCase();
  if (v.length === 1 && '0123456789*#ABCD'.includes(v)) return v;
  if (/^1[0-5]$/.test(v)) return dtmfDigit(Number(v));
  return undefined;
}

/** Parses an INFO body by content type (parameters after `;` ignored); undefined when not DTMF. */
export function parseDtmfInfo(contentType: string, body: string): string | undefined {
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (type === 'application/dtmf-relay') return parseDtmfRelay(body);
  if (type === 'application/dtmf') return normaliseSignal(body);
  return undefined;
}

/** Alias of parseDtmfInfo (name used by the call layer). */
export const parseInfoDtmf = parseDtmfInfo;

/** `application/dtmf-relay` body → digit. */
export function parseDtmfRelay(body: string): string | undefined {
  for (const line of body.split(/\r?\n/)) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    if (line.slice(0, eq).trim().toLowerCase() !== 'signal') continue;
    return normaliseSignal(line.slice(eq + 1));
  }
  return undefined;
}

/** `Duration=` of an `application/dtmf-relay` body in ms, if present. */
export function parseDtmfRelayDuration(body: string): number | undefined {
  const m = /^\s*duration\s*=\s*(\d+)\s*$/im.exec(body);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}
