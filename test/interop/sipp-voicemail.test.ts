/**
 * Issue 10 "Done when": a sipp "voicemail" answers an agent's offer and plays audio
 * without keys. With the accept key on (the default `acceptCall: key`) the customer
 * is not connected to it; the next agent (a SIP-registered test phone) gets the
 * call and takes it with 1; the first agent's history says `not_accepted`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { promptPath } from '../../src/call/prompts.ts';
import { SineSource } from '../phone/sine.ts';
import { waitCdrOutcome } from '../integration/acd-helpers.ts';
import { CLEAN_EXIT, tempDir, waitAgentState } from './tools.ts';
import { sippSuite } from './sipp.ts';

const GREETING = promptPath('en', 'no_agents');

/** The μ-law samples of one of our prompts, without the WAV header (sipp's rtp_stream sends bytes as they are). */
function headerlessUlaw(wavFile: string): Buffer {
  const wav = readFileSync(wavFile);
  const at = wav.indexOf('data', 12, 'latin1');
  if (at < 0) throw new Error(`${wavFile}: no data chunk`);
  return wav.subarray(at + 8, at + 8 + wav.readUInt32LE(at + 4));
}

describe('sipp voicemail answers an offer (accept key)', () => {
  const suite = sippSuite();

  it('the customer is not connected to the voicemail; the next agent gets the call; history says not_accepted', async () => {
    const { server: srv, uasPorts } = await suite.startBehindTrunk({ acceptCall: 'key' });
    const dir = srv.store.directory;
    await dir.updateCompanySettings(1, { acceptSeconds: 3 });

    // Agent 1001's mobile, behind the trunk, is answered by its voicemail (sipp).
    const a1001 = (await dir.getAgentByLogin('1001'))!;
    await dir.setSessionContact(a1001.id, '+79000000001');
    // Agent 1002 is on a registered SIP phone (our test phone) and presses 1.
    const a1002 = (await dir.getAgentByLogin('1002'))!;
    const desk = await suite.registeredAgentPhone(srv, '1002', 'session');

    const workdir = tempDir('sipp-voicemail');
    writeFileSync(path.join(workdir, 'greeting.ulaw'), headerlessUlaw(GREETING));
    const vm = await suite.startUas({
      scenario: 'uas-voicemail.xml',
      cwd: workdir,
      portBase: uasPorts,
      name: 'voicemail',
    });

    // 1001 ready the longest: offered first (longest_idle).
    await srv.agentStates.transition(a1001.id, 'ready', { reason: 'test', source: 'api' });
    await new Promise((r) => setTimeout(r, 50));
    await srv.agentStates.transition(a1002.id, 'ready', { reason: 'test', source: 'api' });

    const custCall = await suite.callIn(srv, '+79161234567');

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
    await waitCdrOutcome(srv, 'answered', { timeoutMs: 3000 });
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
