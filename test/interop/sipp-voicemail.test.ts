/**
 * Issue 10 "Done when": a sipp "voicemail" answers an agent's offer and plays audio
 * without keys. With the accept key on (the default `acceptCall: key`) the customer
 * is not connected to it; the next agent (a SIP-registered test phone) gets the
 * call and takes it with 1; the first agent's history says `not_accepted`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { promptPath } from '../../src/call/prompts.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { eventually, phone, startServer } from '../integration/harness.ts';
import {
  CLEAN_EXIT,
  LOOPBACK,
  finishSuite,
  freePortBlock,
  killAll,
  requireTool,
  startSipp,
  tempDir,
  waitAgentState,
  waitUdpBound,
} from './tools.ts';

const SALES = '+74950000001';
const GREETING = promptPath('en', 'no_agents');

/** The μ-law samples of one of our prompts, without the WAV header (sipp's rtp_stream sends bytes as they are). */
function headerlessUlaw(wavFile: string): Buffer {
  const wav = readFileSync(wavFile);
  const at = wav.indexOf('data', 12, 'latin1');
  if (at < 0) throw new Error(`${wavFile}: no data chunk`);
  return wav.subarray(at + 8, at + 8 + wav.readUInt32LE(at + 4));
}

describe('sipp voicemail answers an offer (accept key)', () => {
  let sipp: string;
  let server: Server | undefined;
  const phones: TestPhone[] = [];

  beforeAll(() => {
    sipp = requireTool('sipp', 'sip-tester');
  });

  afterEach(async () => {
    await killAll();
    await Promise.all(phones.splice(0).map((p) => p.close()));
    await server?.stop();
    server = undefined;
  });

  afterAll(finishSuite);

  it('the customer is not connected to the voicemail; the next agent gets the call; history says not_accepted', async () => {
    const uasPorts = await freePortBlock(8);
    server = await startServer({ trunk: `sip:${LOOPBACK}:${uasPorts}`, acceptCall: 'key' });
    const srv = server;
    const dir = srv.store.directory;
    await dir.updateCompanySettings(1, { acceptSeconds: 3 });

    // Agent 1001's mobile, behind the trunk, is answered by its voicemail (sipp).
    const a1001 = (await dir.getAgentByLogin('1001'))!;
    await dir.setSessionContact(a1001.id, '+79000000001');
    // Agent 1002 is on a registered SIP phone (our test phone) and presses 1.
    const a1002 = (await dir.getAgentByLogin('1002'))!;
    await dir.createSipAccount('agent1002', 'secret-1002', 'agentline', a1002.id);
    await dir.setSessionContact(a1002.id, 'sip:agent1002');
    await srv.loadSipCredentials();
    const desk = await phone({ number: 'agent1002' });
    phones.push(desk);
    expect(await desk.register('agent1002', 'secret-1002', { port: srv.sipPort })).toBe(200);

    const workdir = tempDir('sipp-voicemail');
    writeFileSync(path.join(workdir, 'greeting.ulaw'), headerlessUlaw(GREETING));
    const vm = startSipp(sipp, {
      scenario: 'uas-voicemail.xml',
      cwd: workdir,
      portBase: uasPorts,
      name: 'voicemail',
    });
    await waitUdpBound(vm.sipPort, 5000, vm.proc);

    // 1001 ready the longest: offered first (longest_idle).
    await srv.agentStates.transition(a1001.id, 'ready', { reason: 'test', source: 'api' });
    await new Promise((r) => setTimeout(r, 50));
    await srv.agentStates.transition(a1002.id, 'ready', { reason: 'test', source: 'api' });

    const customer = await phone({ number: '+79161234567' });
    phones.push(customer);
    const custCall = await customer.call(SALES, { port: srv.sipPort });

    // The voicemail answered, played its greeting, pressed nothing and was hung up on.
    const vmExit = await vm.finish(30_000);
    expect(vmExit, vm.report()).toEqual(CLEAN_EXIT);
    await waitAgentState(srv, '1001', 'temporarily_not_ready', 'agent 1001 on a break');
    const history = await srv.store.agentStates.listStateHistory({
      agentId: a1001.id,
      newestFirst: true,
      limit: 1,
    });
    expect(history[0]?.reason).toBe('not_accepted');

    // The call goes on to 1002, who takes it.
    const inv = await desk.nextIncoming(10_000);
    const deskCall = await desk.answer(inv);
    await deskCall.waitForPrompt(promptPath('ru', 'accept_call'));
    deskCall.sendDtmf('1');
    custCall.send(new SineSource(1000, 8000));
    deskCall.send(new SineSource(600, 8000));
    await deskCall.waitForTone(1000, 5000, 200);
    await custCall.waitForTone(600, 5000, 200);
    // Nothing of the voicemail's greeting ever reached the customer.
    expect(custCall.recorder.heardPrompt(GREETING)).toBe(false);
    await custCall.hangup();
    await deskCall.ended;

    const cdr = (await srv.store.calls.listCdr())[0]!;
    await eventually(async () => (await srv.store.calls.listCdr())[0]?.outcome != null, 3000, 'CDR closed');
    expect((await srv.store.calls.listCdr())[0]).toMatchObject({ outcome: 'answered', agentIds: [a1002.id] });
    const events = await srv.store.calls.listQueueEvents(cdr.id);
    expect(events.map((e) => [e.kind, e.agentId, e.detail])).toEqual([
      ['enter', null, null],
      ['offer', a1001.id, null],
      ['no_answer', a1001.id, 'not_accepted'],
      ['offer', a1002.id, null],
      ['connect', a1002.id, expect.any(String)],
      ['complete_customer', a1002.id, null],
    ]);
  }, 60_000);
});
