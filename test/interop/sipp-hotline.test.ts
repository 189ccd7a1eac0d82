/**
 * Call distribution with two real sipp instances over loopback: one plays the trunk
 * behind which agent 1001's phone sits (UAS), the other a customer calling the Sales
 * hotline (UAC). The agent logs in first through the service IVR with the test phone.
 */
import { describe, expect, it } from 'vitest';
import { promptPath } from '../../src/call/prompts.ts';
import { SERVICE, api, eventually } from '../integration/harness.ts';
import { CLEAN_EXIT, freePortBlock, getAgentJson, startSipp, waitAgentState } from './tools.ts';
import { sippSuite } from './sipp.ts';

const HOTLINE = '+74950000001';
const CUSTOMER = '+79161234567'; // also checked by uas-agent-phone.xml
const AGENT_PHONE = '+79000000001';

interface CdrJson {
  id: string;
  hotline: string | null;
  callerId: string | null;
  agentLogins: string[];
  outcome: string | null;
  answeredAt: string | null;
  queuedAt: string | null;
  endedAt: string | null;
  talkSeconds: number;
}

describe('sipp: a hotline call delivered to the agent behind the trunk', () => {
  const suite = sippSuite();

  it('customer (sipp UAC) → +74950000001 → queue → INVITE to the trunk for +79000000001 (sipp UAS) → answered, CDR answered', async () => {
    const { server: srv, uasPorts } = await suite.startBehindTrunk();
    const agent = await srv.store.directory.getAgentByLogin('1001');
    expect(agent?.contact).toBe(AGENT_PHONE);

    // Agent 1001 logs in from their phone (caller id known: PIN only), then hangs up.
    const login = await suite.callIn(srv, AGENT_PHONE, { to: SERVICE });
    await login.waitForPrompt(promptPath('ru', 'enter_pin'));
    login.sendDtmf('2580#');
    await login.waitForPrompt(promptPath('ru', 'registered'), 8000);
    await login.hangup();
    await eventually(
      async () => (await srv.availability.inMenu()) === 0,
      3000,
      'agent out of the service IVR',
    );
    expect(await getAgentJson(srv, '1001')).toMatchObject({
      state: 'ready',
      contact: AGENT_PHONE,
    });

    const uas = await suite.startUas({
      scenario: 'uas-agent-phone.xml',
      dirPrefix: 'sipp-hotline',
      portBase: uasPorts,
      rtpEcho: true,
    });
    const uac = startSipp(suite.sipp, {
      scenario: 'uac-customer-hotline.xml',
      cwd: uas.cwd,
      remotePort: srv.sipPort,
      service: HOTLINE,
      portBase: await freePortBlock(8),
      // No echo on this side: two echoes on either end of the bridge would ping-pong packets forever.
      name: 'customer-uac',
    });
    const [uacExit, uasExit] = await Promise.all([uac.finish(35_000), uas.finish(35_000)]);
    const both = `${uac.report()}\n\n${uas.report()}`;

    // The customer was answered and hung up cleanly; the agent phone got an INVITE for
    // +79000000001 from +79161234567, answered it, and was released with BYE.
    expect(uacExit, both).toEqual(CLEAN_EXIT);
    expect(uasExit, both).toEqual(CLEAN_EXIT);

    let cdr: CdrJson | undefined;
    await eventually(
      async () => {
        const { body } = await api<{ calls: CdrJson[] }>(srv, '/api/v1/calls');
        cdr = body.calls.find((c) => c.hotline === HOTLINE);
        return cdr?.outcome != null;
      },
      3000,
      'the CDR of the hotline call',
    );
    expect(cdr, both).toMatchObject({
      hotline: HOTLINE,
      callerId: CUSTOMER,
      outcome: 'answered',
      agentLogins: [agent!.login],
    });
    expect(cdr?.answeredAt).toEqual(expect.any(String));
    expect(Date.parse(cdr!.answeredAt!)).toBeGreaterThanOrEqual(Date.parse(cdr!.queuedAt!));
    // Connected within a second or so of the 4 s the customer stayed: some talk time was counted.
    expect(cdr!.talkSeconds).toBeGreaterThanOrEqual(2);
    // Agent back to ready once the call is over (wrap-up 0 s).
    await waitAgentState(srv, '1001', 'ready', 'agent 1001 ready again');
  }, 45_000);
});
