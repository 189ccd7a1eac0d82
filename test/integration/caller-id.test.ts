import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { CompanySettings } from '../../src/store/store.ts';
import { getHeader } from '../../src/sip/message/headers.ts';
import type { HeaderField } from '../../src/sip/message/types.ts';
import type { IncomingInvite } from '../../src/sip/user-agent.ts';
import { promptPath, type PromptId } from '../../src/call/prompts.ts';
import type { TestPhone } from '../phone/phone.ts';
import { SERVICE, api, eventually } from './harness.ts';
import {
  CONTACT,
  SALES,
  answerAgent,
  makeReady,
  waitConnected,
  useCallRig,
  waitCdrOutcome,
} from './acd-helpers.ts';

const ru = (id: PromptId): string => promptPath('ru', id);
const ACCEPT_HZ = 1000;

/** Caller id on the calls AgentLine places for a customer, and operator log lines (issue 9). */
describe('caller id and operator logs', () => {
  let server: Server;
  let trunk: TestPhone;
  const rig = useCallRig();
  const lines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const logged = (msg: string): Record<string, unknown>[] =>
    lines
      .join('')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l['msg'] === msg);

  async function setup(settings: Partial<CompanySettings> = {}): Promise<void> {
    lines.length = 0;
    ({ server, trunk } = await rig.startWithTrunk({ logger }));
    if (Object.keys(settings).length) await server.store.directory.updateCompanySettings(1, settings);
  }

  const newPhone = (number: string): Promise<TestPhone> => rig.phone(number);

  /** A customer calls SALES (optionally as a carrier would present them); agent 1001 answers. */
  async function deliver(
    from: string,
    headers: HeaderField[] = [],
    dialled = SALES,
  ): Promise<{ invite: IncomingInvite; hangup: () => Promise<void> }> {
    await makeReady(server, '1001');
    const c = await newPhone('+70000000000');
    const customer = await c.call(dialled, { port: server.sipPort }, { from, headers });
    const { call: agent, invite } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    return {
      invite,
      hangup: async () => {
        await customer.hangup();
        await agent.ended;
      },
    };
  }

  const header = (inv: IncomingInvite, name: string): string | undefined => getHeader(inv.request, name);

  /** The call's CDR closes as answered, with the caller and the hotline. */
  async function cdrAnswered(callerId: string): Promise<void> {
    await waitCdrOutcome(server, 'answered');
    expect((await server.store.calls.listCdr())[0]).toMatchObject({ callerId, hotline: SALES });
  }

  it('the agent sees the customer in From; P-Asserted-Identity and Diversion name the hotline; the CDR has the caller', async () => {
    await setup();
    const { invite, hangup } = await deliver('+79161234567');
    expect(invite.caller.user).toBe('+79161234567');
    expect(header(invite, 'P-Asserted-Identity')).toBe(`<sip:${SALES}@127.0.0.1>`);
    expect(header(invite, 'Diversion')).toBe(`<sip:${SALES}@127.0.0.1>;reason=unconditional;counter=1`);
    expect(header(invite, 'Privacy')).toBeUndefined();
    await hangup();
    await cdrAnswered('+79161234567');
  });

  it('a carrier presenting 8… in P-Asserted-Identity behind an anonymous From: the CDR has the real, normalised caller; the agent sees Anonymous with Privacy: id', async () => {
    await setup();
    const { invite, hangup } = await deliver(
      'anonymous',
      [
        { name: 'P-Asserted-Identity', value: '<sip:89161234567@127.0.0.1>' },
        { name: 'Privacy', value: 'id' },
      ],
      '84950000001', // SALES as dialled nationally
    );
    expect(invite.caller).toEqual({ user: 'anonymous', displayName: 'Anonymous' });
    expect(header(invite, 'From')).toMatch(/^"Anonymous" <sip:anonymous@anonymous\.invalid>;tag=/);
    expect(header(invite, 'Privacy')).toBe('id');
    expect(header(invite, 'Diversion')).toContain(`<sip:${SALES}@`);
    // The customer's number reaches no header of the agent's INVITE.
    expect(invite.request.headers.map((h) => h.value).join('\n')).not.toMatch(/9161234567/);
    expect(server.acd.liveCalls[0]?.callerId).toBe('+79161234567');
    await hangup();
    await cdrAnswered('+79161234567');
  });

  it('Remote-Party-ID is read when there is no P-Asserted-Identity', async () => {
    await setup();
    const { invite, hangup } = await deliver('anonymous', [
      { name: 'Remote-Party-ID', value: '"Petr" <sip:79035556677@127.0.0.1>;party=calling;privacy=off' },
    ]);
    // An anonymous From is the caller's wish to stay anonymous, whatever the RPID says.
    expect(invite.caller.user).toBe('anonymous');
    expect(server.acd.liveCalls[0]?.callerId).toBe('+79035556677');
    await hangup();
  });

  it('presentedCallerId hotline: From is the hotline number', async () => {
    await setup({ presentedCallerId: 'hotline' });
    const { invite, hangup } = await deliver('+79161234567');
    expect(invite.caller.user).toBe(SALES);
    expect(header(invite, 'P-Asserted-Identity')).toBe(`<sip:${SALES}@127.0.0.1>`);
    await hangup();
  });

  it('a transfer target gets the same caller id policy as the agent', async () => {
    await setup({ externalTransfer: 'release_on_answer' });
    await makeReady(server, '1001');
    const c = await newPhone('+79161234567');
    const customer = await c.call(SALES, { port: server.sipPort });
    const { call: agent } = await answerAgent(trunk, '1001');
    await waitConnected(server, '1001');
    agent.recorder.clear();
    agent.sendDtmf('*');
    await agent.waitForTone(ACCEPT_HZ, 3000, 60);
    agent.sendDtmf('189261234567#');
    const inv = await trunk.nextIncoming(5000, '+79261234567');
    expect(inv.caller.user).toBe('+79161234567');
    expect(header(inv, 'P-Asserted-Identity')).toBe(`<sip:${SALES}@127.0.0.1>`);
    expect(header(inv, 'Diversion')).toBe(`<sip:${SALES}@127.0.0.1>;reason=unconditional;counter=1`);
    inv.reject(486);
    await customer.hangup();
    await agent.ended;
  });

  it('one info line when a customer call starts and one when it ends; no PIN in any line', async () => {
    await setup();
    const pin = '7391648'; // under 8 digits: the '#' ends it, and is not left to cut the next prompt
    expect(
      (await api(server, '/api/v1/agents/1001/pin', { method: 'POST', body: JSON.stringify({ pin }) }))
        .status,
    ).toBe(204);
    // The agent logs in through the service IVR with that PIN, then takes a call.
    const agentPhone = await newPhone(CONTACT['1001'] as string);
    const ivr = await agentPhone.call(SERVICE, { port: server.sipPort });
    await ivr.waitForPrompt(ru('enter_pin'));
    ivr.sendDtmf(`${pin}#`);
    await ivr.waitForPrompt(ru('registered'), 8000);
    await ivr.hangup();
    const { hangup } = await deliver('+79161234567');
    await hangup();
    await eventually(() => logged('customer call ended').length === 1, 5000, 'ended line');
    const started = logged('customer call started');
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({
      level: 30,
      hotline: SALES,
      caller: '+79161234567',
      department: '101',
    });
    expect(logged('customer call ended')[0]).toMatchObject({
      level: 30,
      hotline: SALES,
      caller: '+79161234567',
      department: '101',
      agent: '1001',
      outcome: 'answered',
      callId: started[0]?.['callId'],
    });
    expect(typeof logged('customer call ended')[0]?.['durationS']).toBe('number');
    expect(lines.join('')).not.toContain(pin);
  });
});
