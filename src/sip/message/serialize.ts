/**
 * SIP message → bytes (RFC 3261 §7). CRLF line endings, and always exactly
 * one Content-Length, equal to the body's length: it takes the place (and
 * spelling) of the first Content-Length header if there is one, else it is
 * written last.
 *
 * The request line uses `rawUri` when it is non-empty, else `formatUri(uri)`:
 * code that changes `uri` on a parsed request must also set `rawUri` (to
 * `formatUri(uri)` or to '').
 */
import type { SipMessage } from './types.ts';
import { headerKey } from './headers.ts';
import { formatUri } from './uri.ts';

const CRLF_RE = /[\r\n]/;

/** Header text must never contain CR or LF: a value cannot inject lines. */
function clean(s: string): string {
  return CRLF_RE.test(s) ? s.replace(/[\r\n]+/g, ' ') : s;
}

export function serializeMessage(m: SipMessage): Buffer {
  const lines: string[] = [];
  if (m.kind === 'request') {
    lines.push(`${clean(m.method)} ${clean(m.rawUri || formatUri(m.uri))} ${m.version}`);
  } else {
    lines.push(`${m.version} ${m.status} ${clean(m.reason)}`);
  }
  let lengthWritten = false;
  for (const h of m.headers) {
    if (headerKey(h.name) === 'content-length') {
      if (!lengthWritten) lines.push(`${clean(h.name)}: ${m.body.length}`);
      lengthWritten = true;
      continue;
    }
    lines.push(`${clean(h.name)}: ${clean(h.value)}`);
  }
  if (!lengthWritten) lines.push(`Content-Length: ${m.body.length}`);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8');
  return m.body.length > 0 ? Buffer.concat([head, m.body]) : head;
}
