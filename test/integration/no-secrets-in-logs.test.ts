import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { REALM, type Server } from '../../src/server.ts';
import { promptPath, type PromptId } from '../../src/call/prompts.ts';
import { computeHa1 } from '../../src/store/sip-credentials.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { SERVICE, api, phone, startServer } from './harness.ts';

const ru = (id: PromptId): string => promptPath('ru', id);

// Distinctive values, so that a hit is a leak and not a port number or a timestamp.
const PIN = '8051649';
const NEW_PIN = '6173940';
const SIP_USER = 'agent1003';
const SIP_PASSWORD = 'pw-Qz7vLm-1003';

/** A whole value, not a piece of a longer run of digits or hex. */
const whole = (s: string): RegExp => new RegExp(`(?<![0-9A-Za-z])${s}(?![0-9A-Za-z])`);

/**
 * Issue 10 item 8: no PIN, password, HA1 or token in any log line at any level.
 * One server logs at `trace` into memory through a service-IVR login and PIN
 * change, a digest REGISTER (a wrong password first, then the right one) and
 * API calls with the admin token and a created one; the whole output is
 * searched for each secret.
 */
describe('no secrets in the logs (trace level)', () => {
  let server: Server;
  const phones: TestPhone[] = [];

  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await server.stop();
  });

  it('a login, a PIN change, a digest REGISTER, token API calls and an SRTP call log none of their secrets', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    server = await startServer({ logger: pino({ level: 'trace' }, sink), logLevel: 'trace' });
    const dir = server.store.directory;
    await dir.setPin('1001', PIN);

    // Service IVR: login by caller id (PIN only), then key 2: new PIN twice.
    const p = await phone({ number: '+79000000001' });
    phones.push(p);
    const call = await p.call(SERVICE, { port: server.sipPort });
    await call.waitForPrompt(ru('enter_pin'));
    call.sendDtmf(`${PIN}#`);
    await call.waitForPrompt(ru('registered'), 8000);
    await call.waitForPrompt(ru('main_menu'), 8000);
    call.sendDtmf('2');
    await call.waitForPrompt(ru('new_pin'), 8000);
    call.sendDtmf(`${NEW_PIN}#`);
    await call.waitForPrompt(ru('repeat_pin'), 8000);
    call.sendDtmf(`${NEW_PIN}#`);
    await call.waitForPrompt(ru('pin_changed'), 8000);
    await call.hangup();
    expect((await dir.attemptPin({ login: '1001', pin: NEW_PIN, at: Date.now(), callerId: '' })).result).toBe(
      'ok',
    );

    // SIP REGISTER with digest: a wrong password, then the right one.
    const id = (await dir.getAgentByLogin('1003'))!.id;
    await dir.createSipAccount(SIP_USER, SIP_PASSWORD, REALM, id);
    await server.loadSipCredentials();
    const desk = await phone({ number: SIP_USER });
    phones.push(desk);
    expect(await desk.register(SIP_USER, 'not-the-password', { port: server.sipPort })).toBe(403);
    expect(await desk.register(SIP_USER, SIP_PASSWORD, { port: server.sipPort })).toBe(200);

    // API: the admin token, a token made through the API, and a wrong one.
    expect((await api(server, '/api/v1/agents')).status).toBe(200);
    const made = await api<{ secret: string }>(server, '/api/v1/tokens', {
      method: 'POST',
      body: JSON.stringify({ name: 'log-test', role: 'admin' }),
    });
    expect(made.status).toBe(201);
    const token = made.body.secret;
    expect(
      (await api(server, '/api/v1/agents', { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
    expect(
      (await api(server, '/api/v1/agents', { headers: { authorization: 'Bearer wrong-token-xyz' } })).status,
    ).toBe(401);

    // An SRTP call (SDES): both directions' inline keys, ours and the server's.
    const secure = await phone({ number: '+79000000077', srtp: 'mandatory' });
    phones.push(secure);
    const echo = await secure.call('9001', { port: server.sipPort });
    echo.send(new SineSource(1000, 8000));
    await echo.waitForTone(1000, 5000, 200);
    await echo.hangup();
    const srtpKeys = [echo.sdesKey!.bytes, echo.media!.srtp!.remoteKey.bytes];

    const { ha1Md5, ha1Sha256 } = computeHa1(SIP_USER, REALM, SIP_PASSWORD);
    const secrets: Record<string, string> = {
      PIN,
      NEW_PIN,
      SIP_PASSWORD,
      ha1Md5,
      ha1Sha256,
      adminToken: 'test-token-123',
      token,
    };
    const all = lines.join('\n');
    // The run did log (down to debug), so the search means something.
    expect(lines.length).toBeGreaterThan(5);
    expect(all).toMatch(/"level":20/);
    for (const [name, value] of Object.entries(secrets)) {
      expect(whole(value).test(all), `${name} in the log`).toBe(false);
    }
    // SRTP keys in any form they could be printed in; the SDP itself was logged, masked.
    for (const key of srtpKeys)
      for (const form of [
        key.toString('base64'),
        key.toString('hex'),
        key.subarray(0, 16).toString('base64'),
      ])
        expect(all.includes(form), `SRTP key ${form} in the log`).toBe(false);
    expect(all).toContain('inline:[masked]');
    // Keys of the service IVR are counted, never logged one by one (a PIN a digit at a time).
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.filter((r) => 'digit' in r)).toEqual([]);
    const counted = records.filter((r) => r.msg === 'dtmf (secret, not logged)');
    expect(counted.length).toBeGreaterThan(0);
    expect(counted.reduce((n, r) => n + Number(r.count), 0)).toBe(
      PIN.length + 1 + 1 + 2 * (NEW_PIN.length + 1),
    );
  });
});
