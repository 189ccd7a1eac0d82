/**
 * Kamailio in front of three AgentLine nodes (issue 15 item 4), with the repository's own
 * deploy/kamailio/kamailio.cfg and one shared store (test/integration/front.ts): new calls
 * spread over the nodes; an agent logs in through the service IVR via Kamailio and takes a
 * customer's call whose INVITE to the agent's phone leaves the node through Kamailio
 * (--outbound-proxy); in-dialog requests (ACK, BYE) follow the Record-Route set in both
 * directions; a stopped node is found by the OPTIONS probes and new calls go to the others.
 * Media never passes Kamailio: each call's RTP flows between the phone and its node.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { promptPath } from '../../src/call/prompts.ts';
import { DIAG_ECHO } from '../../src/diag/diagnostics.ts';
import { getHeader, getHeaderValues } from '../../src/sip/message/headers.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import {
  CONTACT,
  SALES,
  SUPPORT,
  agentId,
  setState,
  stateOf,
  waitState,
} from '../integration/acd-helpers.ts';
import { startFront, type Front } from '../integration/front.ts';
import { RawSip, SERVICE, eventually, phone, rawRequest } from '../integration/harness.ts';
import { VOICE, hears } from '../integration/hearing.ts';
import { finishSuite, freePortBlock, killAll } from './tools.ts';

describe('Kamailio in front of three nodes', () => {
  let front: Front | undefined;
  let trunk: TestPhone;
  const phones: TestPhone[] = [];

  beforeAll(async () => {
    const trunkPort = await freePortBlock(1);
    trunk = await phone({ number: 'trunk', sipPort: trunkPort });
    front = await startFront({ nodes: 3, server: { trunk: `sip:127.0.0.1:${trunkPort}` } });
  }, 60_000);

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(front?.kamailio.tail(80));
    await Promise.all(phones.splice(0).map((p) => p.close()));
  });

  afterAll(async () => {
    await front?.close();
    await trunk.close();
    await killAll();
    finishSuite();
  });

  const get = (): Front => {
    if (!front) throw new Error('front not started');
    return front;
  };
  const calls = (i: number): number => get().seen[i]?.length ?? 0;
  const newPhone = async (number: string): Promise<TestPhone> => {
    const p = await phone({ number });
    phones.push(p);
    return p;
  };

  it('every node answers the dispatcher probe (OPTIONS) with 200, so all three stay in', async () => {
    const f = get();
    const raw = await RawSip.open();
    try {
      for (const n of f.nodes) {
        raw.received.length = 0;
        raw.send(
          rawRequest('OPTIONS', `sip:127.0.0.1:${n.sipPort}`, raw.port).replace(
            'From: <sip:raw@127.0.0.1>',
            'From: <sip:front@agentline.invalid>',
          ),
          n.sipPort,
        );
        await raw.waitFor(/^SIP\/2\.0 200 /);
      }
    } finally {
      raw.close();
    }
    expect(f.kamailio.stderr).not.toMatch(/AgentLine node down/);
  });

  it('spreads new calls over the three nodes', async () => {
    const f = get();
    const before = [0, 1, 2].map(calls);
    const caller = await newPhone('+79161110000');
    for (let n = 0; n < 6; n++) {
      const call = await caller.call(DIAG_ECHO, { port: f.port });
      await call.hangup();
    }
    const got = [0, 1, 2].map((i) => calls(i) - (before[i] ?? 0));
    expect(got.reduce((a, b) => a + b, 0)).toBe(6);
    for (const n of got) expect(n).toBeGreaterThan(0);
  });

  it('logs an agent in through the service IVR via Kamailio; the customer call rings their phone through Kamailio; BYE both ways', async () => {
    const f = get();
    const agentPhone = await newPhone(CONTACT['1001'] ?? '');
    const login = await agentPhone.call(SERVICE, { port: f.port });
    await login.waitForPrompt(promptPath('ru', 'enter_pin'));
    login.sendDtmf('2580#');
    await login.waitForPrompt(promptPath('ru', 'registered'), 8000);
    await login.hangup();
    const node = f.nodes[0];
    if (!node) throw new Error('no node');
    // The state is in the shared store: every node sees it.
    await waitState(node, '1001', 'ready');
    for (const n of f.nodes) expect(await stateOf(n, '1001')).toBe('ready');

    // 1: the agent hangs up. Agent → Kamailio → node, then node → Kamailio → customer.
    const customer = await newPhone('+79162220000');
    const custCall = await customer.call(SALES, { port: f.port });
    const invite = await trunk.nextIncoming(10_000, CONTACT['1001']);
    // It left its node through the proxy: Kamailio's Via on top, and it record-routed.
    expect(getHeader(invite.request, 'via')).toContain(`127.0.0.1:${f.port}`);
    expect(getHeaderValues(invite.request, 'record-route').join(',')).toContain(`127.0.0.1:${f.port};lr`);
    const agentCall = await trunk.answer(invite);
    custCall.send(new SineSource(VOICE.customer, 10_000));
    await hears(agentCall, VOICE.customer);
    await agentCall.hangup();
    expect(await custCall.ended).toBe('remote');
    await eventually(async () => (await stateOf(node, '1001')) !== 'busy', 8000, 'agent off the call');

    // 2: the customer hangs up. Customer → Kamailio → node, then node → Kamailio → agent.
    await waitState(node, '1001', 'ready', 15_000);
    const second = await customer.call(SALES, { port: f.port });
    const invite2 = await trunk.nextIncoming(10_000, CONTACT['1001']);
    const agentCall2 = await trunk.answer(invite2);
    agentCall2.send(new SineSource(VOICE.agent, 10_000));
    await hears(second, VOICE.agent);
    await second.hangup();
    expect(await agentCall2.ended).toBe('remote');
  });

  it('a SIP phone registered through Kamailio at one node is rung by the others (bindings shared in the store)', async () => {
    const f = get();
    const node = f.nodes[0];
    if (!node) throw new Error('no node');
    // 1001 (the test before) off the floor, once their last call has let them go.
    await waitState(node, '1001', 'ready', 15_000);
    await setState(node, '1001', 'logged_out');
    const id = await agentId(node, '1003');
    await node.store.directory.createSipAccount('agent1003', 'secret-1003', 'agentline', id);
    for (const n of f.nodes) await n.loadSipCredentials();
    const desk = await newPhone('agent1003');
    expect(await desk.register('agent1003', 'secret-1003', { port: f.port })).toBe(200);
    // Registered at one node (the REGISTER is hashed on its Call-ID); every node finds it.
    expect(f.nodes.filter((n) => n.registrar.lookup('agent1003').length > 0)).toHaveLength(1);
    await eventually(
      () => f.nodes.every((n) => n.bindings.lookup('agent1003').length === 1),
      5000,
      'every node sees the binding',
    );
    const login = await desk.call(SERVICE, { port: f.port });
    await login.waitForPrompt(promptPath('ru', 'enter_login'));
    login.sendDtmf('1003#');
    await login.waitForPrompt(promptPath('ru', 'enter_pin'));
    login.sendDtmf('2580#');
    await login.waitForPrompt(promptPath('ru', 'registered'), 8000);
    await login.hangup();
    await waitState(node, '1003', 'ready');
    expect((await node.store.directory.getAgentByLogin('1003'))?.sessionContact).toBe('sip:agent1003');
    // Round robin: three calls in a row are held by three different nodes, two of them not
    // the one the phone registered at.
    const before = [0, 1, 2].map(calls);
    const customer = await newPhone('+79164440000');
    for (let n = 0; n < 3; n++) {
      await waitState(node, '1003', 'ready', 15_000);
      const custCall = await customer.call(SUPPORT, { port: f.port });
      const inv = await desk.nextIncoming(10_000);
      expect(inv.caller.user).toBe('+79164440000');
      const deskCall = await desk.answer(inv);
      custCall.send(new SineSource(1100, 8000));
      await deskCall.waitForTone(1100, 5000, 200);
      await custCall.hangup();
      expect(await deskCall.ended).toBe('remote');
    }
    const got = [0, 1, 2].map((i) => calls(i) - (before[i] ?? 0));
    expect(got.filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  it('takes a stopped node out within seconds: new calls go to the other two', async () => {
    const f = get();
    await f.stopNode(2);
    const stoppedUri = `sip:127.0.0.1:${f.nodes[2]?.sipPort}`;
    await f.said(new RegExp(`AgentLine node down: ${stoppedUri.replaceAll('.', '\\.')}`), 10_000);
    // What an operator sees: the stopped node inactive and probed (IP), the others active (AP).
    const list = execFileSync('kamcmd', ['-s', f.ctl, 'dispatcher.list'], { encoding: 'utf8' });
    const flags = new Map([...list.matchAll(/URI: (\S+)\s+FLAGS: (\w+)/g)].map((m) => [m[1], m[2]]));
    expect(flags).toEqual(
      new Map(f.nodes.map((n) => [`sip:127.0.0.1:${n.sipPort}`, n === f.nodes[2] ? 'IP' : 'AP'])),
    );
    const before = [0, 1, 2].map(calls);
    const failovers = (f.kamailio.stderr.match(/node failed/g) ?? []).length;
    const caller = await newPhone('+79163330000');
    for (let n = 0; n < 4; n++) {
      const call = await caller.call(DIAG_ECHO, { port: f.port });
      await call.hangup();
    }
    const got = [0, 1, 2].map((i) => calls(i) - (before[i] ?? 0));
    expect(got).toEqual([expect.any(Number), expect.any(Number), 0]);
    expect((got[0] ?? 0) + (got[1] ?? 0)).toBe(4);
    // None was sent to the stopped node first: the probes had taken it out already.
    expect((f.kamailio.stderr.match(/node failed/g) ?? []).length).toBe(failovers);
  });
});
