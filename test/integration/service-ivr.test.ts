import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { promptPath, type PromptId } from '../../src/call/prompts.ts';
import type { PhoneCall, TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { SERVICE, api, eventually, phone, startServer } from './harness.ts';
import { loginByCallerId, loginById } from './acd-helpers.ts';
import { TestClock } from './test-clock.ts';

const ru = (id: PromptId): string => promptPath('ru', id);
const ERROR_BEEP_HZ = 480;

interface AgentJson {
  login: string;
  state: string;
  contact: string;
  stateSince: string;
}

const agentState = async (server: Server, login: string): Promise<string> =>
  (await api<AgentJson>(server, `/api/v1/agents/${login}`)).body.state;

async function pressAndHear(call: PhoneCall, key: string, prompt: PromptId): Promise<void> {
  await call.waitForPrompt(ru('main_menu'), 8000);
  call.recorder.clear();
  call.sendDtmf(key);
  await call.waitForPrompt(ru(prompt), 8000);
}

describe('service IVR', () => {
  let server: Server;
  let clock: TestClock;
  const phones: TestPhone[] = [];
  const newPhone = async (number: string): Promise<TestPhone> => {
    const p = await phone({ number });
    phones.push(p);
    return p;
  };

  beforeEach(async () => {
    clock = new TestClock();
    server = await startServer({ clock });
  });

  afterEach(async () => {
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await server.stop();
  });

  it('logs in by caller id: asks only for the PIN, agent becomes ready with that contact', async () => {
    const p = await newPhone('+79000000001');
    const call = await loginByCallerId(server, p);
    expect(call.recorder.heardPrompt(ru('enter_login'))).toBe(false);
    await eventually(async () => (await agentState(server, '1001')) === 'ready', 3000, 'ready');
    const { body } = await api<AgentJson>(server, '/api/v1/agents/1001');
    expect(body.contact).toBe('+79000000001');
    await call.hangup();
  });

  it('logs in by login id and PIN from an unknown number, recording that number as the contact', async () => {
    const p = await newPhone('+79005550000');
    const call = await loginById(server, p, '1003');
    const { body } = await api<AgentJson>(server, '/api/v1/agents/1003');
    expect(body.state).toBe('ready');
    expect(body.contact).toBe('+79005550000');
    await call.hangup();
  });

  it('logs in by caller id from the national 8… form of the contact, which is stored normalised', async () => {
    const p = await newPhone('89000000001'); // agent 1001's contact is +79000000001
    const call = await loginByCallerId(server, p);
    expect(call.recorder.heardPrompt(ru('enter_login'))).toBe(false);
    const { body } = await api<AgentJson>(server, '/api/v1/agents/1001');
    expect(body).toMatchObject({ state: 'ready', contact: '+79000000001' });
    await call.hangup();
  });

  it('logs in from an unknown 8495… number (deliverTo caller_id): the contact becomes +7495…', async () => {
    const p = await newPhone('84951234567');
    const call = await loginById(server, p, '1003');
    const { body } = await api<AgentJson>(server, '/api/v1/agents/1003');
    expect(body).toMatchObject({ state: 'ready', contact: '+74951234567' });
    await call.hangup();
  });

  it('logs in from an anonymous caller id: login id and PIN, customer calls then go to the profile contact', async () => {
    const p = await newPhone('anonymous');
    const call = await loginById(server, p, '1003');
    await call.waitForPrompt(ru('main_menu'), 8000); // still in the menu: the call was not dropped
    const { body } = await api<AgentJson>(server, '/api/v1/agents/1003');
    expect(body).toMatchObject({ state: 'ready', contact: '+79000000003' });
    await call.hangup();
  });

  it('says so for an unknown login', async () => {
    const p = await newPhone('+79005550001');
    const call = await p.call(SERVICE, { port: server.sipPort });
    await call.waitForPrompt(ru('enter_login'));
    call.sendDtmf('9999#');
    await call.waitForPrompt(ru('unknown_login'));
    await call.hangup();
  });

  it('ends the call after three wrong PINs and leaves the agent logged out', async () => {
    const p = await newPhone('+79000000002');
    const call = await p.call(SERVICE, { port: server.sipPort });
    for (let i = 0; i < 3; i++) {
      await call.waitForPrompt(ru('enter_pin'), 8000);
      call.recorder.clear();
      call.sendDtmf('1111#');
      await call.waitForPrompt(ru('wrong_pin'), 8000);
    }
    await call.waitForPrompt(ru('goodbye'), 8000);
    expect(await call.ended).toBe('remote');
    expect(await agentState(server, '1002')).toBe('logged_out');
  });

  it('locks the login after 5 failures in 15 minutes, and lets it in again once the lock expires', async () => {
    const p = await newPhone('+79000000004');
    const fail = async (times: number): Promise<PhoneCall> => {
      const call = await p.call(SERVICE, { port: server.sipPort });
      for (let i = 0; i < times; i++) {
        await call.waitForPrompt(ru('enter_pin'), 8000);
        call.recorder.clear();
        call.sendDtmf('9753#');
        await call.waitForPrompt(ru('wrong_pin'), 8000);
      }
      return call;
    };
    await (
      await fail(3)
    ).ended;
    const second = await fail(2);
    await second.waitForPrompt(ru('locked'), 8000);
    await second.ended;
    // Still locked: the right PIN is not even asked for.
    const third = await p.call(SERVICE, { port: server.sipPort });
    await third.waitForPrompt(ru('locked'), 8000);
    expect(third.recorder.heardPrompt(ru('enter_pin'))).toBe(false);
    await third.ended;
    // 16 minutes later the lock is over.
    clock.wallOffset += 16 * 60_000;
    const fourth = await loginByCallerId(server, p);
    expect(await agentState(server, '1004')).toBe('ready');
    await fourth.hangup();
  });

  it('menu keys 3, 4, 0 and 1 change the state and speak it', async () => {
    const p = await newPhone('+79000000001');
    const call = await loginByCallerId(server, p);
    const steps: [string, PromptId, string][] = [
      ['3', 'state_tnr', 'temporarily_not_ready'],
      ['4', 'state_nr', 'not_ready'],
      ['0', 'state_ready', 'ready'],
      ['1', 'state_out', 'logged_out'],
    ];
    for (const [key, prompt, state] of steps) {
      await pressAndHear(call, key, prompt);
      expect(call.recorder.heardPrompt(ru('state_is'))).toBe(true);
      expect(await agentState(server, '1001')).toBe(state);
    }
    await call.hangup();
    const history = await server.store.agentStates.listStateHistory({});
    expect(history.map((h) => h.to)).toEqual([
      'ready',
      'temporarily_not_ready',
      'not_ready',
      'ready',
      'logged_out',
    ]);
    expect(history.every((h) => h.source === 'ivr')).toBe(true);
  });

  it('a key the menu does not know gets the error beep', async () => {
    const p = await newPhone('+79000000001');
    const call = await loginByCallerId(server, p);
    await call.waitForPrompt(ru('main_menu'), 8000);
    call.recorder.clear();
    call.sendDtmf('7');
    await call.waitForTone(ERROR_BEEP_HZ, 4000, 60);
    await call.hangup();
  });

  it('* leaves the menu and keeps the state', async () => {
    const p = await newPhone('+79000000001');
    const call = await loginByCallerId(server, p);
    await pressAndHear(call, '4', 'state_nr');
    await call.waitForPrompt(ru('main_menu'), 8000);
    call.sendDtmf('*');
    await call.waitForPrompt(ru('goodbye'), 8000);
    expect(await call.ended).toBe('remote');
    expect(await agentState(server, '1001')).toBe('not_ready');
  });

  it('changes the PIN (key 2), and the new PIN works on the next call', async () => {
    const p = await newPhone('+79000000003');
    const call = await loginByCallerId(server, p);
    await pressAndHear(call, '2', 'new_pin');
    call.sendDtmf('4826#');
    await call.waitForPrompt(ru('repeat_pin'));
    call.sendDtmf('4826#');
    await call.waitForPrompt(ru('pin_changed'));
    await call.hangup();
    const again = await loginByCallerId(server, p, '4826');
    await again.hangup();
  });

  it('refuses a PIN change when the two entries differ, and a weak PIN', async () => {
    const p = await newPhone('+79000000003');
    const call = await loginByCallerId(server, p);
    await pressAndHear(call, '2', 'new_pin');
    call.sendDtmf('4826#');
    await call.waitForPrompt(ru('repeat_pin'));
    call.sendDtmf('4827#');
    await call.waitForPrompt(ru('pin_mismatch'));
    await pressAndHear(call, '2', 'new_pin');
    call.sendDtmf('1234#');
    await call.waitForPrompt(ru('pin_weak'));
    await call.hangup();
    // The old PIN still works.
    const again = await loginByCallerId(server, p, '2580');
    await again.hangup();
  });

  it('takes the PIN without # after the inter-digit timeout', async () => {
    const p = await newPhone('+79000000001');
    const call = await p.call(SERVICE, { port: server.sipPort });
    await call.waitForPrompt(ru('enter_pin'));
    call.sendDtmf('2580');
    await call.waitForPrompt(ru('registered'), 8000);
    await call.hangup();
  });

  it('ends the call after three menu hints without a key', async () => {
    const p = await newPhone('+79000000001');
    const call = await loginByCallerId(server, p);
    // Over 30 s in the menu: the phone sends (silent) RTP all along, as a real phone does, or the
    // RTP inactivity timeout (30 s by default) would rightly take it for dead first.
    call.send(new SineSource(0, 0));
    await call.waitForPrompt(ru('goodbye'), 60_000);
    expect(await call.ended).toBe('remote');
    expect(await agentState(server, '1001')).toBe('ready');
  }, 70_000);

  it('a break (key 3) returns to ready by itself after breakMinutes', async () => {
    clock.compressLongTimers = true;
    const p = await newPhone('+79000000001');
    const call = await loginByCallerId(server, p);
    await pressAndHear(call, '3', 'state_tnr');
    await call.hangup();
    // breakMinutes = 15 → 1.5 s with compressed long timers.
    await eventually(async () => (await agentState(server, '1001')) === 'ready', 5000, 'break over');
    const last = (await server.store.agentStates.listStateHistory({ newestFirst: true, limit: 1 }))[0];
    expect(last).toMatchObject({ to: 'ready', reason: 'break_over', source: 'system' });
  });
});

describe('service IVR state across a restart', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'agentline-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the state on the same database file', async () => {
    const db = path.join(dir, 'agentline.db');
    let server = await startServer({ db });
    const p = await phone({ number: '+79000000001' });
    const call = await loginByCallerId(server, p);
    await pressAndHear(call, '4', 'state_nr');
    await call.hangup();
    await p.close();
    await server.stop();
    server = await startServer({ db });
    expect(await agentState(server, '1001')).toBe('not_ready');
    await server.stop();
  });
});
