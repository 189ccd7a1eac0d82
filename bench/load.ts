/**
 * End-to-end load bench over loopback with real peers (issue 13 item 3).
 *
 *   npm run bench:load -- [--calls 100,250,500,1000] [--seconds 20] [--rate 100]
 *                         [--cps 100,200,300,500,700,1000,1500,2000] [--no-rtpengine] [--no-cps]
 *                         [--media-workers N] [--stress-at 1000] [--cdrs 200000]
 *                         [--cpu-prof DIR] [--node-flags="--flag …"]
 *
 * Per step of N: a fresh AgentLine server process (its own data dir, the demo company with N
 * bench agents in Sales, made ready through the API); sipp places N customer calls to the
 * Sales hotline whose media is the C generator (bench/load/rtp-load.c: 20 ms PCMU, send time
 * and sequence number in the payload); each agent's phone is a sipp UAS behind the trunk with
 * its media on the C echo. Every call is customer ⇄ AgentLine ⇄ agent, bridged. Once the calls
 * are connected, a window of --seconds measures the server's CPU (every thread, /proc), RSS,
 * and at the generator loss, round-trip time through the relay and jitter (RFC 3550) of what
 * the relay sends. Then the same N streams from the same generator through rtpengine
 * (userspace, driven over ng), for the CPU ratio. Last, a CPS ramp of short service-IVR
 * calls. The last line printed is one JSON object (outside checks read it).
 *
 * During every window a test phone in this process times DTMF → menu action on the service
 * IVR (./load/dtmf-probe.ts), and the generator reports the longest gap between two packets of
 * a stream. In the step of --stress-at calls (or the largest), the server's database holds
 * --cdrs calls over 30 days, and halfway through the window the bench fetches their CSV
 * export and fires 100 API requests at once: the gap of that step is the stall they cause.
 * `--media-workers N` is passed to the server (0: the media on its main thread, the "before").
 *
 * Run it alone (it takes both cores): flock /tmp/agentline-it.lock npm run bench:load -- …
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { killAll, requireTool, type ToolProcess } from '../test/interop/tool-process.ts';
import {
  AgentLineProcess,
  SALES_HOTLINE,
  SERVICE_NUMBER,
  copyDatabase,
  type ServerPorts,
} from './load/agentline.ts';
import { cpuDelta, rssKiB, threadCpu } from './load/proc-stat.ts';
import { Echo, Generator, buildPeers, type GenReport } from './load/rtp-peers.ts';
import { probeDtmf } from './load/dtmf-probe.ts';
import { Rtpengine } from './load/rtpengine.ts';
import { seedCdrs } from './load/seed-cdrs.ts';
import { SippLoad, agentScenario, customerScenario, ivrScenario, writeCustomers } from './load/sipp-load.ts';
import { histogramPercentile, lossPct, percentile } from './load/stats.ts';

const { values: opt } = parseArgs({
  options: {
    calls: { type: 'string', default: '100,250,500,1000' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '100' },
    cps: { type: 'string', default: '100,200,300,500,700,1000,1500,2000' },
    'no-rtpengine': { type: 'boolean', default: false },
    'no-cps': { type: 'boolean', default: false },
    'media-workers': { type: 'string' },
    'stress-at': { type: 'string', default: '1000' },
    cdrs: { type: 'string', default: '200000' },
    'cpu-prof': { type: 'string' },
    'node-flags': { type: 'string', default: '' },
  },
});
const STEPS = opt.calls.split(',').map(Number);
const SECONDS = Number(opt.seconds);
const RATE = Number(opt.rate);
const CPS_STEPS = opt.cps.split(',').map(Number);
const STRESS_AT = STEPS.includes(Number(opt['stress-at'])) ? Number(opt['stress-at']) : Math.max(...STEPS);
const CDRS = Number(opt.cdrs);
const SERVER_FLAGS = opt['media-workers'] === undefined ? [] : ['--media-workers', opt['media-workers']];
/** `--cpu-prof DIR`: every step's server writes V8 CPU profiles (each thread its own) to DIR. */
const NODE_FLAGS = [
  ...(opt['cpu-prof'] === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.resolve(opt['cpu-prof'])]),
  // `--node-flags "--heapsnapshot-signal=SIGUSR2 …"`: more of Node's own flags for the server.
  ...opt['node-flags'].split(' ').filter(Boolean),
];
const DAY = 24 * 3600_000;
/**
 * How long the calls of a step may take to be connected after the last is placed: until all
 * are, or none more for STALL_S, or at most this (the ACD connects calls one after another).
 */
const setupCapS = (n: number): number => 30 + n / 8;
const STALL_S = 15;
const CPS_SECONDS = 5;
const CPS_HOLD_MS = 1000;

// Loopback ports, all below Linux's ephemeral range (32768+).
const SERVER: ServerPorts = { sip: 15060, http: 15080, rtp: '20000-28999', trunk: 15070 };
const CUSTOMERS_SIP = 15090;
const IVR_SIP = 15110;
const ECHO_PORT = 15200;
const GEN_BASE = 16000; // stream i on GEN_BASE + 2i
const NG_PORT = 15300;
// Four ports a call (two legs, RTP and RTCP): 2,000 calls need 8,000, and more while old ones close.
const RTPENGINE_PORTS = { portMin: 2000, portMax: 14999 };
const MAX_CALLS = 2000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (line: string): void => console.log(line);

interface Measured {
  calls: number;
  /** Calls whose media the window measured (connected when it started). */
  measured: number;
  cpuMsPerCall: number;
  /** Share of one core, %. */
  cpuPct: number;
  threads: string;
  relayedPerSec: number;
  lossPct: number;
  rttP50: number;
  rttP99: number;
  jitterP99: number;
  /** The longest gap between two packets of a stream coming back, ms. */
  maxGapMs: number;
  /** DTMF → menu action on the service IVR, p99, ms (and how many probes were timed). */
  dtmfP99Ms: number;
  dtmfProbes: number;
  rssKiBPerCall: number;
  setupP99S: number;
  failed: number;
  note: string;
}

/** One measurement window on `pid` (the relay): CPU, RSS, the generator's and the echo's counts. */
async function measure(
  pid: number,
  calls: number,
  gen: Generator,
  echo: Echo,
  alive: () => boolean,
): Promise<
  Omit<Measured, 'rssKiBPerCall' | 'setupP99S' | 'failed' | 'note' | 'dtmfP99Ms' | 'dtmfProbes'> & {
    report: GenReport;
  }
> {
  gen.send('window');
  const peers = [gen.proc.pid ?? 0, echo.proc.pid ?? 0];
  const peers0 = peers.map(threadCpu);
  const cpu0 = threadCpu(pid);
  const echo0 = await echo.packets();
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  while (performance.now() < until && alive()) await sleep(Math.min(250, until - performance.now()));
  const cpu1 = threadCpu(pid);
  const peersMs = peers.reduce((ms, p, i) => ms + cpuDelta(peers0[i]!, threadCpu(p)).total, 0);
  const secs = (performance.now() - t0) / 1000;
  gen.send('stop');
  const echo1 = await echo.packets();
  await sleep(500); // the last packets of the window come back
  const report = await gen.report();
  const cpu = cpuDelta(cpu0, cpu1);
  const threads = [...cpu.byName]
    .sort((a, b) => b[1] - a[1])
    .filter(([, ms]) => ms / secs >= 5)
    .map(([name, ms]) => `${name} ${((ms / secs / 10) | 0).toString()}%`)
    .concat(`(generator+echo ${((peersMs / secs / 10) | 0).toString()}%)`)
    .join(', ');
  return {
    calls,
    measured: report.measured,
    cpuMsPerCall: cpu.total / secs / calls,
    cpuPct: cpu.total / secs / 10,
    threads,
    relayedPerSec: (echo1 - echo0 + report.received) / secs,
    lossPct: lossPct(report.sent, report.received),
    rttP50: histogramPercentile(report.rtt, report.bucketUs, 50),
    rttP99: histogramPercentile(report.rtt, report.bucketUs, 99),
    jitterP99: histogramPercentile(report.jitter, report.bucketUs, 99),
    maxGapMs: report.maxGapUs / 1000,
    report,
  };
}

/**
 * Polls the generator until `n` streams hear their own echo, none more did for STALL_S since one did, the
 * deadline passes or `alive` fails.
 */
async function waitBridged(
  gen: Generator,
  n: number,
  deadline: number,
  alive: () => boolean,
): Promise<number> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const { bridged } = await gen.report();
    if (bridged !== last) [last, lastChange] = [bridged, Date.now()];
    // No progress counts only once calls connect: the first may take long under load.
    const stalled = bridged > 0 && Date.now() - lastChange > STALL_S * 1000;
    if (bridged >= n || stalled || Date.now() > deadline || !alive()) return bridged;
    await sleep(500);
  }
}

async function stopAll(...procs: (ToolProcess | undefined)[]): Promise<void> {
  await Promise.all(
    procs.map(async (p) => {
      await p?.kill();
    }),
  );
}

interface Env {
  dir: string;
  sipp: string;
  bin: string;
  echo: Echo;
  prepDb: string;
}

async function agentlineStep(env: Env, n: number): Promise<Measured> {
  const dir = path.join(env.dir, `agentline-${n}`);
  mkdirSync(dir);
  const db = path.join(dir, 'agentline.db');
  copyDatabase(env.prepDb, db);
  const stress = n === STRESS_AT;
  if (stress) await seedCdrs(db, CDRS);
  const rampS = n / RATE;
  const budgetMs = (rampS + setupCapS(n) + SECONDS + 60) * 1000;
  const server = await AgentLineProcess.start(db, SERVER, budgetMs, SERVER_FLAGS, NODE_FLAGS);
  let gen: Generator | undefined;
  let uas: SippLoad | undefined;
  let uac: SippLoad | undefined;
  try {
    await server.makeReady(n);
    gen = await Generator.start(env.bin, n, GEN_BASE, 'latch', budgetMs);
    const inject = path.join(dir, 'customers.csv');
    writeCustomers(inject, n, GEN_BASE);
    uas = SippLoad.start(env.sipp, {
      dir,
      name: 'agents',
      scenario: agentScenario(ECHO_PORT),
      port: SERVER.trunk,
      timeoutMs: budgetMs,
    });
    await sleep(1000);
    if (!uas.proc.alive) throw new Error(`sipp UAS exited\n${uas.proc.tail(20)}`);
    const rss0 = rssKiB(server.pid);
    const heap0 = await server.heaps();
    uac = SippLoad.start(env.sipp, {
      dir,
      name: 'customers',
      scenario: customerScenario(Math.round((rampS + setupCapS(n) + SECONDS + 15) * 1000)),
      port: CUSTOMERS_SIP,
      remotePort: SERVER.sip,
      service: SALES_HOTLINE,
      calls: n,
      rate: RATE,
      inject,
      timeoutMs: budgetMs,
    });
    const alive = (): boolean => server.proc.alive;
    const bridged = await waitBridged(gen, n, Date.now() + (rampS + setupCapS(n)) * 1000, alive);
    // DTMF probes for the whole window, or its first half when the second is the stress's.
    const windowEnd = performance.now() + SECONDS * 1000;
    const dtmf = probeDtmf(SERVER.sip, SERVICE_NUMBER, stress ? windowEnd - SECONDS * 500 : windowEnd);
    // RSS per call is read before the stress: the export's buffers are not the calls'.
    let rssCalls = 0;
    let heap1 = heap0;
    const stressed = stress
      ? sleep(SECONDS * 500).then(async () => {
          rssCalls = rssKiB(server.pid);
          heap1 = await server.heaps();
          return stressServer(server);
        })
      : undefined;
    const m = await measure(server.pid, n, gen, env.echo, alive);
    if (!stress) heap1 = await server.heaps();
    const probes = await dtmf;
    const stressNote = await stressed?.catch((err: unknown) => `stress failed: ${String(err)}`);
    const rss1 = stress ? rssCalls : rssKiB(server.pid);
    const sipp = uac.counts();
    const warns = server.warnings();
    const notes = [
      bridged < n ? `${n - bridged} calls not connected when the window started (not measured)` : '',
      sipp.failed ? `sipp: ${sipp.failed} failed (${uac.lastError()})` : '',
      warns.count ? `server: ${warns.count} warn lines, last: ${warns.last}` : '',
      alive() ? '' : `server died: ${server.proc.tail(5)}`,
      probes.failed ? `${probes.failed} DTMF probes untimed` : '',
      `heap per call: main ${((heap1.main - heap0.main) / 1024 / n).toFixed(1)} KiB, ` +
        `media workers ${((heap1.workers - heap0.workers) / 1024 / n).toFixed(1)} KiB`,
      stressNote ?? '',
    ];
    return {
      ...m,
      dtmfP99Ms: percentile(probes.latencies, 99),
      dtmfProbes: probes.latencies.length,
      rssKiBPerCall: (rss1 - rss0) / n,
      setupP99S: percentile(m.report.setupMs, 99) / 1000,
      failed: Math.max(n - m.report.bridged, sipp.failed),
      note: notes.filter(Boolean).join('; '),
    };
  } finally {
    await stopAll(uac?.proc, uas?.proc, gen?.proc);
    await server.stop();
  }
}

async function rtpengineStep(env: Env, engine: Rtpengine, n: number): Promise<Measured> {
  const gen = await Generator.start(env.bin, n, GEN_BASE, 'fixed', (SECONDS + 120) * 1000);
  const ids: string[] = [];
  try {
    const t0 = performance.now();
    const setup: number[] = [];
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, async (_, k) => {
          const id = `bench-${n}-${i + k}`;
          const s = performance.now();
          const port = await engine.call(id, GEN_BASE + 2 * (i + k), ECHO_PORT);
          setup.push((performance.now() - s) / 1000);
          ids.push(id);
          gen.target(i + k, port);
        }),
      );
    }
    const ngSecs = (performance.now() - t0) / 1000;
    const rss0 = rssKiB(engine.pid);
    const alive = (): boolean => engine.proc.alive;
    const bridged = await waitBridged(gen, n, Date.now() + 10_000, alive);
    const m = await measure(engine.pid, n, gen, env.echo, alive);
    const rss1 = rssKiB(engine.pid);
    return {
      ...m,
      dtmfP99Ms: NaN,
      dtmfProbes: 0,
      rssKiBPerCall: (rss1 - rss0) / n,
      setupP99S: percentile(setup, 99),
      failed: n - m.report.bridged,
      note: [
        `ng offer+answer for all: ${ngSecs.toFixed(1)} s`,
        bridged < n ? `${n - bridged} streams not relayed` : '',
      ]
        .filter(Boolean)
        .join('; '),
    };
  } finally {
    await Promise.all(ids.map((id) => engine.hangUp(id).catch(() => undefined)));
    await gen.stop();
  }
}

/** The generator straight into the echo: the floor of RTT and jitter without any relay. */
async function directStep(env: Env, n: number): Promise<Measured> {
  const gen = await Generator.start(env.bin, n, GEN_BASE, 'fixed', (SECONDS + 60) * 1000);
  try {
    for (let i = 0; i < n; i++) gen.target(i, ECHO_PORT);
    await waitBridged(gen, n, Date.now() + 5000, () => true);
    const m = await measure(process.pid, n, gen, env.echo, () => true);
    return {
      ...m,
      cpuMsPerCall: NaN,
      cpuPct: NaN,
      threads: '',
      dtmfP99Ms: NaN,
      dtmfProbes: 0,
      rssKiBPerCall: NaN,
      setupP99S: NaN,
      failed: 0,
      note: '',
    };
  } finally {
    await gen.stop();
  }
}

/** Service-IVR calls (answered, PIN prompt, BYE) at rising rates: the highest with no failure. */
async function cpsRamp(env: Env): Promise<{ cps: number; lines: string[] }> {
  const dir = path.join(env.dir, 'cps');
  mkdirSync(dir);
  const db = path.join(dir, 'agentline.db');
  copyDatabase(env.prepDb, db);
  const server = await AgentLineProcess.start(db, SERVER, (CPS_STEPS.length * 40 + 60) * 1000, SERVER_FLAGS, NODE_FLAGS);
  const lines: string[] = [];
  let best = 0;
  try {
    for (const rate of CPS_STEPS) {
      const calls = rate * CPS_SECONDS;
      const t0 = performance.now();
      const run = SippLoad.start(env.sipp, {
        dir,
        name: `ivr-${rate}`,
        scenario: ivrScenario(CPS_HOLD_MS),
        port: IVR_SIP,
        remotePort: SERVER.sip,
        service: SERVICE_NUMBER,
        calls,
        rate,
        timeoutMs: (CPS_SECONDS + 30) * 1000,
      });
      const exit = await run.proc.exited;
      const secs = (performance.now() - t0) / 1000;
      await sleep(1100); // the last statistics dump
      const c = run.counts();
      // sipp that cannot keep the rate places the calls late: that is not the rate reached.
      const placedInTime = secs <= CPS_SECONDS + CPS_HOLD_MS / 1000 + 3;
      const ok = exit.code === 0 && c.failed === 0 && c.successful === calls && placedInTime;
      lines.push(
        `  ${String(rate).padStart(4)} calls/s: ${c.successful}/${calls} answered, ${c.failed} failed, ` +
          `${secs.toFixed(1)} s${placedInTime ? '' : ' (behind the rate)'}${exit.code === 0 ? '' : `, sipp exit ${exit.code}`}`,
      );
      log(lines[lines.length - 1]!);
      if (!ok || !server.proc.alive) break;
      best = rate;
      await sleep(2000);
    }
  } finally {
    await server.stop();
  }
  return { cps: best, lines };
}

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '–');
const j = (x: number): number | null => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

/** The machine's 1-minute load average: other work on the 2 cores shows in every figure. */
const loadAvg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ')[0] ?? '?';

function row(relay: string, m: Measured): string {
  return [
    String(m.calls).padStart(5),
    relay.padEnd(10),
    String(m.measured).padStart(5),
    f(m.cpuMsPerCall, 3).padStart(8),
    f(m.cpuPct, 0).padStart(5),
    f(m.relayedPerSec, 0).padStart(8),
    f(m.lossPct, 3).padStart(7),
    f(m.rttP50).padStart(7),
    f(m.rttP99).padStart(7),
    f(m.jitterP99).padStart(7),
    f(m.maxGapMs, 1).padStart(6),
    (m.dtmfProbes ? `${f(m.dtmfP99Ms, 1)}/${m.dtmfProbes}` : '–').padStart(8),
    f(m.rssKiBPerCall, 1).padStart(7),
    f(m.setupP99S).padStart(6),
    String(m.failed).padStart(6),
    `  ${m.threads}${m.note ? ` [${m.note}]` : ''}`,
  ].join(' ');
}

const HEADER =
  'calls relay      meas. CPUms/s %core    pkt/s   loss%  RTTp50  RTTp99   jit99    gap dtmf99/n KiB/call setup99 failed  threads [notes]\n' +
  '                        per call                     (ms, through the relay, both ways)   (ms)     (ms)             (s)';

function machine(): string {
  const cpu = (
    execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], {
      encoding: 'utf8',
    }) as string
  ).trim();
  const cores = execFileSync('nproc', { encoding: 'utf8' }).trim();
  return `${cores} cores, ${cpu}, Node ${process.version}`;
}

async function main(): Promise<void> {
  if (STEPS.some((n) => !(n > 0 && n <= MAX_CALLS))) throw new Error(`--calls: 1…${MAX_CALLS} each`);
  const sipp = requireTool('sipp', 'sip-tester');
  let rtpengineBin: string | undefined;
  if (!opt['no-rtpengine']) rtpengineBin = requireTool('rtpengine', 'rtpengine-daemon');
  const fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  const maxN = Math.max(...STEPS);
  // The server: RTP and RTCP sockets for two legs per call; sipp and the generator less.
  if (fdLimit < 4 * maxN + 512)
    log(
      `warning: ulimit -n is ${fdLimit}; ${maxN} calls need about ${4 * maxN + 512} descriptors in the server`,
    );

  const dir = mkdtempSync(path.join(tmpdir(), 'agentline-loadbench-'));
  const cleanup = async (): Promise<void> => {
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Bounded whatever happens: every step has its own deadlines; this is the last resort.
  const totalS =
    STEPS.reduce((s, n) => s + 2 * (n / RATE + setupCapS(n) + 2 * SECONDS + 90), 0) +
    CPS_STEPS.length * 40 +
    120;
  const watchdog = setTimeout(() => {
    console.error(`bench:load: over its ${totalS.toFixed(0)} s budget, stopping`);
    onSignal();
  }, totalS * 1000);
  watchdog.unref();

  try {
    log(`bench:load — ${machine()}; ${SECONDS} s windows, calls placed at ${RATE}/s, loopback`);
    const bin = buildPeers(dir);
    const echo = await Echo.start(bin, ECHO_PORT, totalS * 1000);
    const prep = path.join(dir, 'prepared');
    mkdirSync(prep);
    const prepDb = path.join(prep, 'agentline.db');
    const t0 = performance.now();
    const server = await AgentLineProcess.start(prepDb, SERVER, 600_000);
    try {
      await server.prepareCompany(maxN);
    } finally {
      await server.stop();
    }
    log(`prepared ${maxN} agents in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const env: Env = { dir, sipp, bin, echo, prepDb };
    const engine = rtpengineBin
      ? await Rtpengine.start(rtpengineBin, {
          dir,
          ngPort: NG_PORT,
          ...RTPENGINE_PORTS,
          timeoutMs: totalS * 1000,
        })
      : undefined;

    const rows: string[] = [];
    const steps: Record<string, number | null>[] = [];
    const direct = await directStep(env, Math.min(maxN, 100));
    rows.push(row('direct', direct));
    log(HEADER);
    log(rows[0]!);
    for (const n of STEPS) {
      log(`      (${n} calls: load average ${loadAvg()} before the step)`);
      const al = await agentlineStep(env, n).catch((err: unknown) => failedStep(n, err));
      log(row('agentline', al));
      rows.push(row('agentline', al));
      const re = engine
        ? await rtpengineStep(env, engine, n).catch((err: unknown) => failedStep(n, err))
        : undefined;
      if (re) {
        log(row('rtpengine', re));
        rows.push(row('rtpengine', re));
        log(`      AgentLine CPU per call / rtpengine's: ${f(al.cpuMsPerCall / re.cpuMsPerCall, 2)}×`);
        rows.push(`      AgentLine CPU per call / rtpengine's: ${f(al.cpuMsPerCall / re.cpuMsPerCall, 2)}×`);
      }
      steps.push({
        calls: n,
        cpuMsPerCall: j(al.cpuMsPerCall),
        lossPct: j(al.lossPct),
        latencyP99Ms: j(al.rttP99),
        jitterP99Ms: j(al.jitterP99),
        rssKiBPerCall: j(al.rssKiBPerCall),
        rtpengineCpuMsPerCall: re ? j(re.cpuMsPerCall) : null,
      });
    }
    await engine?.stop();
    let cps = 0;
    if (!opt['no-cps']) {
      log('service-IVR CPS ramp (answered, PIN prompt for 1 s, BYE):');
      cps = (await cpsRamp(env)).cps;
    }
    log('');
    log(HEADER);
    for (const r of rows) log(r);
    log(`service IVR: ${cps} answered calls/s with 0 failures`);
    log(JSON.stringify({ steps, cps }));
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }
}

/**
 * The stress of the --stress-at step: the 30-day CSV export and, at the same time, a burst of
 * 100 API requests (agents, calls, board, queues in turn). Its note for the table.
 */
async function stressServer(server: AgentLineProcess): Promise<string> {
  const from = new Date(Date.now() - 30 * DAY).toISOString();
  const urls = ['/api/v1/agents', '/api/v1/calls', '/api/v1/board?companyId=1', '/api/v1/queues'];
  const [exported, burst] = await Promise.all([
    server.timedGet(`/api/v1/calls.csv?from=${from}`),
    Promise.all(Array.from({ length: 100 }, (_, i) => server.timedGet(urls[i % urls.length]!))),
  ]);
  const slowest = Math.max(...burst.map((r) => r.ms));
  const bad = burst.filter((r) => r.status !== 200).length;
  return (
    `stress: CSV export HTTP ${exported.status} ${(exported.bytes / 1e6).toFixed(1)} MB in ${(exported.ms / 1000).toFixed(2)} s, ` +
    `100 API requests in ${(slowest / 1000).toFixed(2)} s${bad ? ` (${bad} not 200)` : ''}`
  );
}

/** A step that threw: reported as all calls failed, with the reason. */
function failedStep(calls: number, err: unknown): Measured {
  return {
    calls,
    measured: 0,
    cpuMsPerCall: NaN,
    cpuPct: NaN,
    threads: '',
    relayedPerSec: 0,
    lossPct: 100,
    rttP50: NaN,
    rttP99: NaN,
    jitterP99: NaN,
    maxGapMs: NaN,
    dtmfP99Ms: NaN,
    dtmfProbes: 0,
    rssKiBPerCall: NaN,
    setupP99S: NaN,
    failed: calls,
    note: `step failed: ${String(err).split('\n').slice(0, 6).join(' | ')}`,
  };
}

await main();
