/**
 * Malformed RFC 4028 and RFC 4568 input over a socket: INVITEs to the echo test whose
 * Session-Expires, Min-SE or a=crypto are broken, absurd or hostile. Each gets a final
 * response (answered without a timer, 422, or 488), nothing throws out of the SIP stack,
 * and the server still answers OPTIONS afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { DIAG_ECHO } from '../../src/diag/diagnostics.ts';
import { RawSip, rawRequest, startServer } from './harness.ts';

const KEY = Buffer.alloc(30, 7).toString('base64');

function offer(port: number, profile: string, crypto: string[]): string {
  return [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} ${profile} 0`,
    'a=rtpmap:0 PCMU/8000',
    ...crypto,
    '',
  ].join('\r\n');
}

describe('malformed session-timer and crypto input', () => {
  let server: Server;
  let raw: RawSip;

  beforeAll(async () => {
    server = await startServer();
    raw = await RawSip.open();
  });

  afterAll(async () => {
    raw.close();
    await server.stop();
  });

  const ruri = (): string => `sip:${DIAG_ECHO}@127.0.0.1:${server.sipPort}`;

  /** Sends one INVITE and returns its final response (the 2xx is ACKed, then BYE'd by hanging up the leg). */
  async function invite(extra: string, body: string): Promise<string> {
    const callId = `malformed-${Math.random().toString(36).slice(2)}`;
    raw.send(
      rawRequest(
        'INVITE',
        ruri(),
        raw.port,
        `Contact: <sip:raw@127.0.0.1:${raw.port}>\r\nContent-Type: application/sdp\r\n${extra}`,
        body,
        callId,
      ),
      server.sipPort,
    );
    const res = await raw.waitFor(
      new RegExp(`^SIP/2\\.0 [2-6]\\d\\d [^\\r]*\\r\\n[\\s\\S]*Call-ID: ${callId}`, 'i'),
      4000,
    );
    for (const leg of server.engine.legs) await leg.hangup();
    return res;
  }

  const SE_CASES: [string, string, RegExp][] = [
    ['Session-Expires: abc\r\n', 'not delta-seconds', /^SIP\/2\.0 200/],
    ['Session-Expires: \r\n', 'empty', /^SIP\/2\.0 200/],
    ['Session-Expires: 1800;refresher\r\n', 'refresher without value', /^SIP\/2\.0 200/],
    ['Session-Expires: 1800;;;=\r\n', 'broken params', /^SIP\/2\.0 200/],
    ['Session-Expires: 99999999999999999999\r\n', 'twenty digits', /^SIP\/2\.0 200/],
    ['Session-Expires: -5\r\n', 'negative', /^SIP\/2\.0 200/],
    ['Session-Expires: 0\r\n', 'zero', /^SIP\/2\.0 422/],
    ['Session-Expires: 1800\r\nMin-SE: zz\r\n', 'Min-SE not a number', /^SIP\/2\.0 200/],
    [
      'Session-Expires: 1800\r\nMin-SE: 9999999999\r\nSupported: timer\r\n',
      'ten-digit Min-SE',
      /^SIP\/2\.0 200/,
    ],
    [
      'Session-Expires: 1800\r\nSession-Expires: 90\r\nMin-SE: 1;x=\r\n',
      'two Session-Expires',
      /^SIP\/2\.0 200/,
    ],
  ];
  for (const [headers, what, expected] of SE_CASES)
    it(`Session-Expires/Min-SE ${what}: a final response, no crash`, async () => {
      expect(await invite(headers, offer(30000, 'RTP/AVP', []))).toMatch(expected);
    });

  const CRYPTO_CASES: [string[], string, RegExp][] = [
    [['a=crypto:'], 'empty', /^SIP\/2\.0 488/],
    [['a=crypto:1'], 'tag only', /^SIP\/2\.0 488/],
    [['a=crypto:1 AES_CM_128_HMAC_SHA1_80'], 'no key params', /^SIP\/2\.0 488/],
    [['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:'], 'empty inline', /^SIP\/2\.0 488/],
    [['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!!'], 'not base64', /^SIP\/2\.0 488/],
    [['a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:QUJD'], 'short key', /^SIP\/2\.0 488/],
    [[`a=crypto:x AES_CM_128_HMAC_SHA1_80 inline:${KEY}`], 'tag not a number', /^SIP\/2\.0 488/],
    [[`a=crypto:99999999999999999999 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`], 'huge tag', /^SIP\/2\.0 488/],
    [
      [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^99|1:999999`],
      'absurd lifetime and MKI',
      /^SIP\/2\.0 488/,
    ],
    [[`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY};inline:${KEY}`], 'two keys', /^SIP\/2\.0 488/],
    [
      [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} KDR=99 UNENCRYPTED_SRTP`],
      'session params',
      /^SIP\/2\.0 488/,
    ],
    [
      [`a=crypto:1 F8_128_HMAC_SHA1_80 inline:${KEY}`, `a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`],
      'second line usable',
      /^SIP\/2\.0 200/,
    ],
  ];
  for (const [lines, what, expected] of CRYPTO_CASES)
    it(`a=crypto ${what}: a final response, no crash`, async () => {
      expect(await invite('', offer(30000, 'RTP/SAVP', lines))).toMatch(expected);
    });

  it('RFC 4568 §6.1: the answer takes the tag of the offer line it accepted, with a key of our own', async () => {
    const res = await invite(
      '',
      offer(30000, 'RTP/SAVP', [
        `a=crypto:7 F8_128_HMAC_SHA1_80 inline:${KEY}`,
        `a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`,
      ]),
    );
    expect(res).toMatch(/^SIP\/2\.0 200/);
    const lines = res.split('\r\n').filter((l) => l.startsWith('a=crypto:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:[A-Za-z0-9+/]{40}$/);
    expect(lines[0]).not.toContain(KEY);
    expect(res).toMatch(/^m=audio \d+ RTP\/SAVP /m);
  });

  it('the server still answers OPTIONS', async () => {
    const callId = 'malformed-options';
    raw.send(rawRequest('OPTIONS', ruri(), raw.port, '', '', callId), server.sipPort);
    expect(await raw.waitFor(/^SIP\/2\.0 200[\s\S]*Call-ID: malformed-options/i)).toMatch(/^SIP\/2\.0 200/);
  });
});
