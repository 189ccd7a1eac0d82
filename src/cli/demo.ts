import pino from 'pino';
import { configSchema } from '../config/config.ts';
import { Server } from '../server.ts';
import { TestPhone, type PhoneCall } from '../sim/phone.ts';
import { SineSource } from '../sim/sine.ts';
import { promptPath } from '../call/prompts.ts';
import type { IncomingInvite } from '../sip/user-agent.ts';

/**
 * `npm run demo`: a short simulated day over real loopback SIP and RTP. The
 * server runs with the demo company; simulated agents log in through the
 * service IVR, customers call both hotlines, agents answer (or do not), some
 * customers give up, and agents use the in-call menu: a department transfer,
 * a consultative transfer and a number announcement. A line per event, then
 * the supervisor's summary.
 */
const SERVICE = '+79262951361';
const SALES = '+74950000001';
const SUPPORT = '+74950000002';
const AGENTS = [
  { login: '1001', contact: '+79000000001' },
  { login: '1002', contact: '+79000000002' },
  { login: '1003', contact: '+79000000003' },
  { login: '1004', contact: '+79000000004' },
];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const stamp = (): string => `+${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
const say = (line: string): void => console.log(`${stamp()}  ${line}`);

/** What an agent's mobile phone does when the server rings it. */
type PhoneScript = (call: PhoneCall, customer: string) => Promise<void>;

export async function runDemo(): Promise<void> {
  const config = configSchema.parse({
    sipHost: '127.0.0.1',
    sipPort: 0,
    httpPort: 0,
    rtpPorts: '36000-36999',
    db: ':memory:',
    logLevel: 'silent',
    adminToken: 'demo-token-123',
    trunk: 'sip:127.0.0.1:35060',
    demo: true,
  });
  // The trunk: every agent's mobile number rings on this simulated PSTN.
  const pstn = await TestPhone.create({ number: 'pstn', sipPort: 35060 });
  const server = new Server(config, { logger: pino({ level: 'silent' }) });
  await server.start();
  say(
    `server: SIP udp/tcp 127.0.0.1:${server.sipPort}, HTTP http://127.0.0.1:${server.httpPort} (token demo-token-123)`,
  );

  const login = new Map<number, string>();
  for (const a of await server.store.directory.listAgents()) login.set(a.id, a.login);
  server.agentStates.onChange((c) => say(`agent ${login.get(c.agentId)}: ${c.from} → ${c.to} (${c.reason})`));
  server.acd.onEvent((e) => {
    const who = e.agentId !== null ? ` agent ${login.get(e.agentId)}` : '';
    say(`call ${e.callId.slice(0, 8)} ${e.kind}${who}${e.detail ? ` ${e.detail}` : ''}`);
  });

  // Agents log in from their own phones through the service IVR.
  const phones = await Promise.all(AGENTS.map((a) => TestPhone.create({ number: a.contact })));
  await Promise.all(
    AGENTS.map(async (a, i) => {
      const call = await phones[i]!.call(SERVICE, { port: server.sipPort });
      await call.waitForPrompt(promptPath('ru', 'enter_pin'));
      call.sendDtmf('2580#');
      await call.waitForPrompt(promptPath('ru', 'registered'), 10_000);
      await call.hangup();
    }),
  );

  // Agents' phones: how each call is handled is chosen per call below.
  const scripts: PhoneScript[] = [];
  const noAnswer: PhoneScript = async () => {};
  const talk: PhoneScript = async (call) => {
    call.send(new SineSource(500, 3000));
    await Promise.race([sleep(3000 + Math.random() * 3000), call.ended]);
    await call.hangup();
  };
  void (async () => {
    for (;;) {
      let inv: IncomingInvite;
      try {
        inv = await pstn.nextIncoming(600_000);
      } catch {
        return;
      }
      const script = scripts.shift() ?? talk;
      void (async () => {
        if (script === noAnswer) {
          inv.provisional(180);
          return;
        }
        await sleep(800);
        if (inv.state !== 'pending' && inv.state !== 'early') return;
        const call = await pstn.answer(inv).catch(() => undefined);
        if (!call) return;
        // The accept key (acceptCall: key, the default), pressed during the whisper.
        await sleep(500);
        call.sendDtmf('1');
        await script(call, inv.caller.user).catch(() => undefined);
      })();
    }
  })();
  const agentKeys =
    (keys: string, then: (call: PhoneCall) => Promise<void>): PhoneScript =>
    async (call) => {
      await sleep(2500); // past the whisper
      call.sendDtmf(keys);
      await then(call);
    };

  const customers: TestPhone[] = [];
  const customer = async (hotline: string, n: number, stayMs: number): Promise<PhoneCall | undefined> => {
    const p = await TestPhone.create({ number: `+7916${String(1000000 + n)}` });
    customers.push(p);
    const call = await p.call(hotline, { port: server.sipPort }).catch(() => undefined);
    if (!call) return undefined;
    call.send(new SineSource(700, 3000));
    void Promise.race([sleep(stayMs), call.ended]).then(() => call.hangup());
    return call;
  };

  say('— customers start calling —');
  // 1002 does not answer its first offer: it goes to temporarily_not_ready.
  scripts.push(noAnswer);
  for (let n = 0; n < 6; n++) {
    void customer(n % 2 ? SUPPORT : SALES, n, 12_000);
    await sleep(1500);
  }
  await sleep(6000);
  say('— an agent transfers a caller to Support (* 2 102) —');
  scripts.push(agentKeys('*2102', async () => {}));
  void customer(SALES, 10, 20_000);
  await sleep(9000);
  say('— a consultative transfer (* 1 203 #, then the agent hangs up) —');
  await server.store.directory.updateCompanySettings(1, { externalTransfer: 'consult' });
  scripts.push(
    agentKeys('*1203#', async (call) => {
      await sleep(5000);
      await call.hangup();
    }),
  );
  void customer(SALES, 11, 25_000);
  await sleep(12_000);
  say('— a number announcement (* 3 89261234567 #), the customer presses 1 —');
  scripts.unshift(agentKeys('*389261234567#', async () => {}));
  const announcer = await customer(SUPPORT, 12, 40_000);
  if (announcer) {
    await announcer.waitForPrompt(promptPath('ru', 'announce_offer'), 25_000).catch(() => undefined);
    announcer.sendDtmf('1');
  }
  await sleep(8000);
  say('— two customers give up waiting —');
  for (const id of AGENTS.map((a) => a.login)) {
    const agent = await server.store.directory.getAgentByLogin(id);
    if (agent)
      await server.agentStates
        .transition(agent.id, 'not_ready', { reason: 'demo_break', source: 'api' })
        .catch(() => undefined);
  }
  await customer(SALES, 20, 3000);
  await customer(SUPPORT, 21, 3000);
  await sleep(5000);

  for (const p of [...customers, ...phones]) await p.close();
  await sleep(500);
  const summary = await fetch(`http://127.0.0.1:${server.httpPort}/api/v1/reports/summary`, {
    headers: { authorization: 'Bearer demo-token-123' },
  }).then((r) => r.json() as Promise<Record<string, unknown>>);
  console.log('\nSummary report (GET /api/v1/reports/summary):');
  console.log(JSON.stringify(summary, null, 2));
  await pstn.close();
  await server.stop();
}
