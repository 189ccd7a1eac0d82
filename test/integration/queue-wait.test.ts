import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { mohPath, promptPath } from '../../src/call/prompts.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SineSource } from '../phone/sine.ts';
import { eventually } from './harness.ts';
import { SALES, answerAgent, makeReady, setState, waitConnected, useCallRig } from './acd-helpers.ts';

const ru = (id: Parameters<typeof promptPath>[1]): string => promptPath('ru', id);

/** Issue 10 item 7 (part): "all our agents are busy, please stay on the line" when nobody is free. */
describe('queue_wait prompt', () => {
  let server: Server;
  let trunk: TestPhone;
  const rig = useCallRig();

  const customer = (): Promise<TestPhone> => rig.phone('+79161234567');

  it('a customer entering a queue with nobody free hears queue_wait, then the music', async () => {
    ({ server, trunk } = await rig.startWithTrunk());
    // Logged in (so no overflow for "no agents") but not free.
    await makeReady(server, '1001');
    await setState(server, '1001', 'not_ready');
    const custCall = await (await customer()).call(SALES, { port: server.sipPort });
    await custCall.waitForPrompt(ru('queue_wait'));
    // The music comes after the prompt, from its start.
    await eventually(
      () => custCall.recorder.promptAt(mohPath()) > custCall.recorder.promptAt(ru('queue_wait')),
      10_000,
      'music after queue_wait',
    );
    await setState(server, '1001', 'ready');
    const { call: agentCall } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    custCall.send(new SineSource(1000, 8000));
    await agentCall.waitForTone(1000, 5000, 200);
    await custCall.hangup();
  });

  it('a customer whose call goes straight to a free agent does not hear it', async () => {
    ({ server, trunk } = await rig.startWithTrunk());
    await makeReady(server, '1001');
    const custCall = await (await customer()).call(SALES, { port: server.sipPort });
    const { call: agentCall } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    agentCall.send(new SineSource(600, 8000));
    await custCall.waitForTone(600, 5000, 200);
    expect(custCall.recorder.heardPrompt(ru('queue_wait'))).toBe(false);
    await custCall.hangup();
  });
});
