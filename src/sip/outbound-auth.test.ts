/**
 * Outbound digest authentication (RFC 3261 §22.2, §8.1.3.5; RFC 7616; RFC
 * 8760) over loopback UDP: our UA against a raw socket playing a trunk that
 * challenges with 401/407 and checks the answer with the registrar's own
 * verifier.
 */
import dgram from 'node:dgram';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../util/fake-clock.ts';
import { getHeader, getHeaderValues, parseCSeq, parseVia, tagOf } from './message/headers.ts';
import { parseMessage } from './message/parse.ts';
import type { SipRequest, SipResponse } from './message/types.ts';
import { parseUri } from './message/uri.ts';
import { buildChallenge, computeHa1, parseAuthHeader, verifyDigest } from './registrar/digest.ts';
import { DigestClient } from './registrar/digest-client.ts';
import { SipStack } from './stack.ts';
import { UdpTransport } from './transport/udp.ts';
import { UserAgent } from './ua/user-agent.ts';
import { until } from '../util/testing.ts';

const REALM = 'carrier.example';
const USER = 'agentline';
const PASSWORD = 's3cret-pw';

/** Echoes a request's dialog headers into a response, as a UAS would (§8.2.6). */
function respond(req: SipRequest, status: number, reason: string, extra = '', toTag?: string): Buffer {
  const to = getHeader(req, 'to') ?? '';
  return Buffer.from(
    `SIP/2.0 ${status} ${reason}\r\n` +
      getHeaderValues(req, 'via')
        .map((v) => `Via: ${v}\r\n`)
        .join('') +
      `From: ${getHeader(req, 'from')}\r\n` +
      `To: ${to}${toTag && !tagOf(to) ? `;tag=${toTag}` : ''}\r\n` +
      `Call-ID: ${getHeader(req, 'call-id')}\r\n` +
      `CSeq: ${getHeader(req, 'cseq')}\r\n` +
      extra +
      'Content-Length: 0\r\n\r\n',
  );
}

describe('DigestClient', () => {
  const res401 = (challenge: string): SipResponse => ({
    kind: 'response',
    version: 'SIP/2.0',
    status: 401,
    reason: 'Unauthorized',
    headers: [{ name: 'WWW-Authenticate', value: challenge }],
    body: Buffer.alloc(0),
  });

  it('counts nc per nonce and answers with a response the registrar accepts', () => {
    const client = new DigestClient({ username: USER, password: PASSWORD }, () => 'cn0ce');
    const res = res401(buildChallenge({ realm: REALM, nonce: 'n1', algorithm: 'MD5' }));
    const a = client.answer(res, 'REGISTER', 'sip:carrier.example');
    const b = client.answer(res, 'REGISTER', 'sip:carrier.example');
    if (typeof a === 'string' || typeof b === 'string') throw new Error('no answer');
    expect(a.name).toBe('Authorization');
    const pa = parseAuthHeader(a.value);
    const pb = parseAuthHeader(b.value);
    expect(pa?.params.get('nc')).toBe('00000001');
    expect(pb?.params.get('nc')).toBe('00000002');
    expect(pa?.params.get('qop')).toBe('auth');
    expect(pa?.params.get('cnonce')).toBe('cn0ce');
    const ha1 = computeHa1('MD5', USER, REALM, PASSWORD);
    expect(pa && verifyDigest(pa, 'REGISTER', ha1)).toBe(true);
  });

  it('prefers SHA-256 over MD5 (RFC 8760 §2.4)', () => {
    const client = new DigestClient({ username: USER, password: PASSWORD });
    const res = res401('');
    res.headers = [
      { name: 'WWW-Authenticate', value: buildChallenge({ realm: REALM, nonce: 'n', algorithm: 'MD5' }) },
      { name: 'WWW-Authenticate', value: buildChallenge({ realm: REALM, nonce: 'n', algorithm: 'SHA-256' }) },
    ];
    const a = client.answer(res, 'INVITE', 'sip:1@h');
    if (typeof a === 'string') throw new Error(a);
    const p = parseAuthHeader(a.value);
    expect(p?.params.get('algorithm')).toBe('SHA-256');
    expect(p && verifyDigest(p, 'INVITE', computeHa1('SHA-256', USER, REALM, PASSWORD))).toBe(true);
  });

  it('never answers a challenge for another realm than the configured one', () => {
    const client = new DigestClient({ username: USER, password: PASSWORD, realm: REALM });
    const res = res401(buildChallenge({ realm: 'evil.example', nonce: 'n', algorithm: 'MD5' }));
    expect(client.answer(res, 'INVITE', 'sip:1@h')).toBe('realm_mismatch');
    expect(client.answer(res401('Basic realm="x"'), 'INVITE', 'sip:1@h')).toBe('no_digest_challenge');
  });
});

describe('UserAgent outbound authentication over loopback UDP', () => {
  let clock: FakeClock;
  let stack: SipStack;
  let ua: UserAgent;
  let trunk: dgram.Socket;
  let trunkPort: number;
  let got: SipRequest[];
  let logLines: string[];
  /** How the fake trunk answers the n-th request it receives (0-based). */
  let answer: (req: SipRequest, n: number) => Buffer | undefined;

  beforeEach(async () => {
    clock = new FakeClock();
    logLines = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString('utf8'));
        cb();
      },
    });
    const udp = await UdpTransport.listen('127.0.0.1', 0);
    stack = new SipStack({ transports: [udp], clock, logger: pino({ level: 'silent' }) });
    ua = new UserAgent({
      stack,
      clock,
      logger: pino({ level: 'info' }, sink),
      delegate: { onInvite: () => {} },
    });
    trunk = dgram.createSocket('udp4');
    await new Promise<void>((r) => trunk.bind(0, '127.0.0.1', () => r()));
    trunkPort = trunk.address().port;
    got = [];
    trunk.on('message', (m, rinfo) => {
      const p = parseMessage(m);
      if (!p.ok || p.message.kind !== 'request') return;
      const req = p.message;
      got.push(req);
      if (req.method === 'ACK') return;
      const out = answer(req, got.filter((r) => r.method !== 'ACK').length - 1);
      if (out) trunk.send(out, rinfo.port, rinfo.address);
    });
  });

  afterEach(async () => {
    trunk.close();
    await stack.close();
  });

  const destination = (): { transport: 'udp'; address: string; port: number } => ({
    transport: 'udp',
    address: '127.0.0.1',
    port: trunkPort,
  });
  const auth = (): { client: DigestClient; label: string } => ({
    client: new DigestClient({ username: USER, password: PASSWORD }),
    label: 'carrier-a',
  });
  const challenge = (status: 401 | 407, nonce: string, algorithm: 'MD5' | 'SHA-256' = 'MD5'): string =>
    `${status === 407 ? 'Proxy' : 'WWW'}-Authenticate: ${buildChallenge({ realm: REALM, nonce, algorithm })}\r\n`;
  const invite = (withAuth = true): ReturnType<UserAgent['invite']> =>
    ua.invite({
      requestUri:
        parseUri(`sip:79001234567@127.0.0.1:${trunkPort}`) ??
        (() => {
          throw new Error('uri');
        })(),
      destination: destination(),
      fromUser: '74950000001',
      sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n',
      auth: withAuth ? auth() : undefined,
    });
  const verifies = (req: SipRequest, header: string, algorithm: 'MD5' | 'SHA-256' = 'MD5'): boolean => {
    const h = parseAuthHeader(getHeader(req, header) ?? '');
    return !!h && verifyDigest(h, req.method, computeHa1(algorithm, USER, REALM, PASSWORD));
  };

  it('INVITE: 407 is ACKed by the transaction, retried with Proxy-Authorization, same Call-ID and From tag, CSeq + 1', async () => {
    answer = (req, n) =>
      n === 0
        ? respond(req, 407, 'Proxy Authentication Required', challenge(407, 'nonce-1'), 'p1')
        : respond(req, 200, 'OK', `Contact: <sip:x@127.0.0.1:${trunkPort}>\r\n`, 'u1');
    const out = invite();
    const result = await out.result;
    expect(result.kind).toBe('answered');
    const [first, ack, second] = got;
    if (!first || !ack || !second) throw new Error('missing requests');
    expect(ack.method).toBe('ACK');
    expect(parseCSeq(getHeader(ack, 'cseq') ?? '')).toEqual({ seq: 1, method: 'ACK' });
    expect(parseVia(getHeader(ack, 'via') ?? '')?.params.get('branch')).toBe(
      parseVia(getHeader(first, 'via') ?? '')?.params.get('branch'),
    );
    expect(second.method).toBe('INVITE');
    expect(getHeader(second, 'call-id')).toBe(getHeader(first, 'call-id'));
    expect(tagOf(getHeader(second, 'from') ?? '')).toBe(tagOf(getHeader(first, 'from') ?? ''));
    expect(parseCSeq(getHeader(second, 'cseq') ?? '')).toEqual({ seq: 2, method: 'INVITE' });
    expect(parseVia(getHeader(second, 'via') ?? '')?.params.get('branch')).not.toBe(
      parseVia(getHeader(first, 'via') ?? '')?.params.get('branch'),
    );
    expect(verifies(second, 'proxy-authorization')).toBe(true);
    expect(parseAuthHeader(getHeader(second, 'proxy-authorization') ?? '')?.params.get('nc')).toBe(
      '00000001',
    );
    // The 2xx to the retry is ACKed end to end with the retry's CSeq.
    await until(() => got.filter((r) => r.method === 'ACK').length === 2, 'the ACK for the 200');
    expect(getHeader(got[3] as SipRequest, 'cseq')).toBe('2 ACK');
    if (result.kind === 'answered') void result.session.bye();
  });

  it('INVITE challenged a second time: auth_failed, one warn line naming the trunk, no secret in it', async () => {
    answer = (req, n) =>
      respond(req, 407, 'Proxy Authentication Required', challenge(407, `nonce-${n}`), 'p');
    const result = await invite().result;
    expect(result).toMatchObject({ kind: 'auth_failed', status: 407 });
    expect(got.filter((r) => r.method === 'INVITE')).toHaveLength(2);
    const warn = logLines.filter((l) => l.includes('trunk authentication failed'));
    expect(warn).toHaveLength(1);
    expect(JSON.parse(warn[0] as string)).toMatchObject({
      level: 40,
      trunk: 'carrier-a',
      method: 'INVITE',
      status: 407,
    });
    expect(logLines.join('')).not.toContain(PASSWORD);
  });

  it('INVITE whose credentials get 403: auth_failed, logged', async () => {
    answer = (req, n) =>
      n === 0
        ? respond(req, 401, 'Unauthorized', challenge(401, 'n0'), 'p')
        : respond(req, 403, 'Forbidden', '', 'p');
    const result = await invite().result;
    expect(result).toMatchObject({ kind: 'auth_failed', status: 403 });
    expect(verifies(got.filter((r) => r.method === 'INVITE')[1] as SipRequest, 'authorization')).toBe(true);
    expect(logLines.some((l) => l.includes('credentials refused'))).toBe(true);
  });

  it('INVITE challenged with no credentials configured: auth_failed, not a callee failure', async () => {
    answer = (req) => respond(req, 407, 'Proxy Authentication Required', challenge(407, 'n'), 'p');
    expect((await invite(false).result).kind).toBe('auth_failed');
    expect(got.filter((r) => r.method === 'INVITE')).toHaveLength(1);
  });

  it('REGISTER (any non-INVITE): 401 answered with SHA-256 when offered, CSeq + 1, same Call-ID', async () => {
    answer = (req, n) =>
      n === 0
        ? respond(
            req,
            401,
            'Unauthorized',
            challenge(401, 'r1', 'MD5') + challenge(401, 'r1', 'SHA-256'),
            'r',
          )
        : respond(req, 200, 'OK', '', 'r');
    const req: SipRequest = {
      kind: 'request',
      method: 'REGISTER',
      uri:
        parseUri(`sip:127.0.0.1:${trunkPort}`) ??
        (() => {
          throw new Error('uri');
        })(),
      rawUri: `sip:127.0.0.1:${trunkPort}`,
      version: 'SIP/2.0',
      headers: [
        { name: 'Via', value: ua.viaFor('udp') },
        { name: 'Max-Forwards', value: '70' },
        { name: 'From', value: `<sip:${USER}@${REALM}>;tag=abc` },
        { name: 'To', value: `<sip:${USER}@${REALM}>` },
        { name: 'Call-ID', value: 'reg-1' },
        { name: 'CSeq', value: '7 REGISTER' },
        { name: 'Contact', value: ua.contactFor('udp') },
        { name: 'Expires', value: '300' },
      ],
      body: Buffer.alloc(0),
    };
    const res = await ua.request(req, destination(), auth());
    expect(res?.status).toBe(200);
    const second = got[1] as SipRequest;
    expect(getHeader(second, 'call-id')).toBe('reg-1');
    expect(getHeader(second, 'cseq')).toBe('8 REGISTER');
    expect(verifies(second, 'authorization', 'SHA-256')).toBe(true);
  });
});
