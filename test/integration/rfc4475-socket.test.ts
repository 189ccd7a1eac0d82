/**
 * Every RFC 4475 torture message (test/fixtures/rfc4475/*.dat) sent over real
 * UDP to a running server. Before a message touches a socket every host in it
 * becomes 127.0.0.1 and every Via sent-by becomes 127.0.0.1:<the sending
 * socket's port>, so that whatever the server answers lands on that socket and
 * nothing can leave 127.0.0.0/8. Where the rewrite changes the body length,
 * a Content-Length that was right is corrected; a wrong one (clerr, ncl,
 * mcl01) is left as wrong as it was.
 *
 * The expected outcome follows src/sip/message/rfc4475.test.ts, carried through
 * to what the UA core, the registrar and the call router answer.
 */
import dgram from 'node:dgram';
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { RawSip, rawRequest, sleep, startServer } from './harness.ts';

const DIR = new URL('../fixtures/rfc4475/', import.meta.url);

/** The final status the server answers, or 'none' when it must stay silent. */
const EXPECTED: Record<string, { status: number | 'none'; why: string }> = {
  wsinv: { status: 481, why: 'valid; To has a tag, so an in-dialog INVITE for no dialog' },
  intmeth: { status: 501, why: 'valid; unknown method' },
  esc01: { status: 404, why: 'valid INVITE; no such number' },
  escnull: { status: 401, why: 'valid REGISTER; the registrar challenges' },
  esc02: { status: 501, why: 'RE%47IST%45R is not REGISTER' },
  lwsdisp: { status: 200, why: 'valid OPTIONS' },
  longreq: { status: 404, why: 'valid INVITE; no such number' },
  dblreq: { status: 401, why: 'the REGISTER only; the trailing INVITE is ignored' },
  semiuri: { status: 200, why: 'valid OPTIONS' },
  transports: { status: 200, why: 'valid OPTIONS' },
  mpart01: { status: 405, why: 'MESSAGE is known but not implemented' },
  unreason: { status: 'none', why: 'a response nobody asked for' },
  noreason: { status: 'none', why: 'a response nobody asked for' },
  badinv01: {
    status: 400,
    why: 'extraneous header field separators (the top Via is unusable: answered at the source)',
  },
  clerr: { status: 400, why: 'Content-Length larger than the message' },
  ncl: { status: 400, why: 'negative Content-Length' },
  scalar02: { status: 400, why: 'CSeq over 2^32-1' },
  scalarlg: { status: 'none', why: 'an unparseable response: dropped' },
  quotbal: { status: 400, why: 'unterminated quoted string' },
  ltgtruri: { status: 400, why: '<> around the Request-URI' },
  lwsruri: { status: 400, why: 'LWS inside the Request-URI' },
  lwsstart: { status: 404, why: 'liberal about extra SP; no such number' },
  trws: { status: 200, why: 'liberal about trailing SP; OPTIONS' },
  escruri: { status: 400, why: 'headers in the Request-URI' },
  baddate: { status: 404, why: 'Date is not used; no such number' },
  regbadct: { status: 401, why: 'liberal addr-spec; the registrar challenges' },
  badaspec: { status: 200, why: 'liberal about spaces inside <>; OPTIONS' },
  baddn: { status: 400, why: 'non-token characters in a display name' },
  badvers: { status: 505, why: 'SIP/7.0' },
  mismatch01: { status: 400, why: 'CSeq method differs from the request method' },
  mismatch02: { status: 501, why: 'unknown method (501 rather than 400)' },
  bigcode: { status: 'none', why: 'an unparseable response: dropped' },
  badbranch: { status: 200, why: 'branch of the bare magic cookie still matches; OPTIONS' },
  insuf: { status: 400, why: 'missing To, From, Call-ID' },
  unkscm: { status: 416, why: 'unknown Request-URI scheme' },
  novelsc: { status: 416, why: 'a known but unsupported Request-URI scheme' },
  unksm2: { status: 400, why: 'the registrar needs a sip/sips To' },
  bext01: { status: 420, why: 'Require: unknown extensions' },
  invut: { status: 415, why: 'unknown Content-Type' },
  regaut01: { status: 401, why: 'unknown Authorization scheme: challenged' },
  multi01: { status: 400, why: 'several values of single-value headers' },
  mcl01: { status: 400, why: 'several Content-Length values' },
  bcast: { status: 'none', why: 'a response nobody asked for' },
  zeromf: { status: 200, why: 'a UAS ignores Max-Forwards 0; OPTIONS' },
  cparam01: { status: 401, why: 'valid REGISTER; challenged' },
  cparam02: { status: 401, why: 'valid REGISTER; challenged' },
  regescrt: { status: 401, why: 'valid REGISTER; challenged' },
  sdp01: { status: 406, why: 'Accept offers nothing we can send' },
  inv2543: { status: 404, why: 'RFC 2543 INVITE (no branch); no such number' },
  test: { status: 'none', why: 'no version, no Via: dropped' },
};

const HOST =
  /(?<![\w.%-])(?:\d{1,3}(?:\.\d{1,3}){3}|[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*\.(?:com|net|org|edu))(?![\w.-])/g;
/** sent-protocol LWS sent-by, with any LWS RFC 3261 allows in the protocol. */
const SENT_BY = /(SIP\s*\/\s*\d+\.\d+\s*\/\s*[A-Za-z0-9_-]+\s+)127\.0\.0\.1(?:\s*:\s*\d+)?/gi;
const CONTENT_LENGTH = /^(content-length|l)([ \t]*:[ \t]*)(\d+)[ \t]*$/gim;

/** Rewrites hosts and sent-by (see the file comment); latin1 keeps every byte as it was. */
function rewrite(original: Buffer, viaPort: number): Buffer {
  const text = original.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split + 4);
  const body = split < 0 ? '' : text.slice(split + 4);
  let newHead = head
    .replace(HOST, '127.0.0.1')
    .replace(SENT_BY, (_m, proto: string) => `${proto}127.0.0.1:${viaPort}`);
  // Only dblreq has SIP in its "body" (the trailing INVITE that must be ignored).
  const newBody = body
    .replace(HOST, '127.0.0.1')
    .replace(SENT_BY, (_m, proto: string) => `${proto}127.0.0.1:${viaPort}`);
  const lengths = [...head.matchAll(CONTENT_LENGTH)];
  if (lengths.length === 1 && Number(lengths[0]?.[3]) === body.length && newBody.length !== body.length) {
    newHead = newHead.replace(
      CONTENT_LENGTH,
      (_m, name: string, sep: string) => `${name}${sep}${newBody.length}`,
    );
  }
  return Buffer.from(newHead + newBody, 'latin1');
}

interface Result {
  file: string;
  socket: dgram.Socket;
  got: Buffer[];
}

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.dat'))
  .map((f) => f.slice(0, -4))
  .sort();

describe('RFC 4475 torture messages over UDP', () => {
  let server: Server;
  const results = new Map<string, Result>();
  let before: { received: number; dropped: number; badRequests: number };

  beforeAll(async () => {
    server = await startServer();
    before = { ...server.stack.counters };
    await Promise.all(
      files.map(async (file) => {
        const socket = dgram.createSocket('udp4');
        await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
        const got: Buffer[] = [];
        socket.on('message', (m) => got.push(m));
        results.set(file, { file, socket, got });
        socket.send(
          rewrite(readFileSync(new URL(`${file}.dat`, DIR)), socket.address().port),
          server.sipPort,
          '127.0.0.1',
        );
      }),
    );
    // Wait for every expected final response, then a little more for anything unexpected.
    const finalOf = (r: Result): number | undefined => statuses(r).find((s) => s >= 200);
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      const missing = files.filter(
        (f) => typeof EXPECTED[f]?.status === 'number' && finalOf(results.get(f) as Result) === undefined,
      );
      if (missing.length === 0) break;
      await sleep(20);
    }
    await sleep(300);
  });

  afterAll(async () => {
    for (const r of results.values()) r.socket.close();
    await server?.stop();
  });

  const statuses = (r: Result): number[] =>
    r.got
      .map((b) => /^SIP\/2\.0 (\d{3}) /.exec(b.toString('latin1'))?.[1])
      .map((s) => (s === undefined ? -1 : Number(s)));

  it('every fixture has an expected outcome', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(files);
  });

  it('the rewrite leaves no host outside 127.0.0.0/8 and no foreign sent-by port', () => {
    for (const file of files) {
      const out = rewrite(readFileSync(new URL(`${file}.dat`, DIR)), 40000).toString('latin1');
      for (const ip of out.match(/(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])/g) ?? [])
        expect(ip, file).toMatch(/^127\./);
      // Escaped inside a user part (esc01: sips%3Auser%40example.com@…) it is not a host.
      expect(out, file).not.toMatch(/(?<!%40)(?<![\w.-])(?:[\w-]+\.)*example\.(com|net|org|edu)(?![\w-])/);
      for (const m of out.matchAll(/SIP\s*\/\s*\d+\.\d+\s*\/\s*[A-Za-z0-9_-]+\s+([^;,\s]+(?:\s*:\s*\d+)?)/gi))
        expect(m[1], file).toBe('127.0.0.1:40000');
    }
  });

  it('the rewrite fixes a right Content-Length and keeps a wrong one wrong', () => {
    const cl = (file: string): string[] =>
      [
        ...rewrite(readFileSync(new URL(`${file}.dat`, DIR)), 40000)
          .toString('latin1')
          .matchAll(/^(?:content-length|l)[ \t]*:[ \t]*(-?\d+)/gim),
      ].map((m) => m[1] ?? '');
    const bodyLength = (file: string): number => {
      const t = rewrite(readFileSync(new URL(`${file}.dat`, DIR)), 40000).toString('latin1');
      return t.length - t.indexOf('\r\n\r\n') - 4;
    };
    expect(cl('insuf')).toEqual([String(bodyLength('insuf'))]); // 192.0.2.95 → 127.0.0.1 changed it
    expect(cl('clerr')).toEqual(['9999']);
    expect(cl('ncl')).toEqual(['-999']);
    expect(cl('mcl01')).toEqual(['13', '5']);
  });

  for (const file of files) {
    const e = EXPECTED[file];
    if (!e) continue;
    it(`${file}: ${e.status === 'none' ? 'no answer' : e.status} (${e.why})`, () => {
      const r = results.get(file) as Result;
      const got = statuses(r);
      if (e.status === 'none') {
        expect(got, `${file} got ${got.join(',')}`).toEqual([]);
        return;
      }
      // Provisional 100 for INVITE, then the final (maybe retransmitted by Timer G).
      expect(
        got.find((s) => s >= 200),
        `${file} got ${got.join(',')}`,
      ).toBe(e.status);
      expect(
        got.every((s) => s === 100 || s === e.status),
        `${file} got ${got.join(',')}`,
      ).toBe(true);
      // §8.2.6.2: the response carries the request's Via.
      expect((r.got[0] as Buffer).toString('latin1')).toMatch(/\r\nVia: SIP\s*\/\s*\d/i);
    });
  }

  it('the drops are counted, nothing crashed, and the server still answers OPTIONS', async () => {
    const c = server.stack.counters;
    const drops = files.filter(
      (f) => EXPECTED[f]?.status === 'none' && ['scalarlg', 'bigcode', 'test'].includes(f),
    ).length;
    expect(drops).toBe(3);
    expect(c.dropped - before.dropped).toBe(drops);
    expect(c.received - before.received).toBeGreaterThanOrEqual(files.length);
    expect(c.badRequests - before.badRequests).toBeGreaterThanOrEqual(4); // clerr, ncl, ltgtruri, lwsruri, mcl01 …
    const raw = await RawSip.open();
    try {
      raw.send(rawRequest('OPTIONS', `sip:127.0.0.1:${server.sipPort}`, raw.port), server.sipPort);
      expect(await raw.waitFor(/^SIP\/2\.0 \d{3}/)).toMatch(/^SIP\/2\.0 200 /);
    } finally {
      raw.close();
    }
    const health = await fetch(`http://127.0.0.1:${server.httpPort}/healthz`);
    expect(health.status).toBe(200);
  });
});
