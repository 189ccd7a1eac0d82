/**
 * Does a big CSV export stall live audio? (issue 12 item 6)
 *
 * Seeds ROWS CDRs over the last 30 days in a temporary SQLite file, starts the server on it
 * in a child process (its own event loop, as in production), places a 9001 echo call from the
 * test phone in this process, and fetches the 30-day /api/v1/calls.csv while the call runs.
 * Prints the longest gap between RTP packets coming back, the audio late by more than a
 * jitter buffer holds (sum of gaps beyond 60 ms) and the packets lost, during the export.
 *
 *   npx tsx bench/export-stall.ts [rows=200000] [server source root=.]
 *
 * The root lets the same bench run an older tree (git archive <rev> src | tar -x -C DIR, with
 * DIR/node_modules linked) for a before/after. Ports: SIP 38060, HTTP 38080, RTP 38100-38199.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SineSource } from '../src/sim/sine.ts';
import { TestPhone } from '../src/sim/phone.ts';
import { seedCdrs } from './load/seed-cdrs.ts';

const ROWS = Number(process.argv[2] ?? 200_000);
const ROOT = resolve(process.argv[3] ?? '.');
const SIP_PORT = 38060;
const HTTP_PORT = 38080;
const TOKEN = 'bench-export-token-0123456789';
const DAY = 24 * 3600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'agentline-export-'));
  const file = join(dir, 'agentline.db');
  let t = performance.now();
  await seedCdrs(file, ROWS);
  console.log(`seeded ${ROWS} CDRs in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const server = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/main.ts'),
      'start',
      '--sip-host',
      '127.0.0.1',
      '--sip-port',
      String(SIP_PORT),
      '--http-port',
      String(HTTP_PORT),
      '--rtp-ports',
      '38100-38199',
      '--db',
      file,
      '--log-level',
      'warn',
      '--admin-token',
      TOKEN,
      '--diagnostics',
    ],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const phone = await TestPhone.create({ number: '+79001112233' });
  try {
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${HTTP_PORT}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i > 300) throw new Error('server did not start');
      await sleep(100);
    }
    const call = await phone.call('9001', { port: SIP_PORT });
    const arrivals: number[] = [];
    const heard = call.rtp.onAudio;
    let echoed = 0;
    call.rtp.onAudio = (payload, codec, session) => {
      arrivals.push(performance.now());
      // The server also sends silence when nothing plays (issue 10 fill): the tone is the echo.
      if (payload.length > 2 && (payload[0] !== payload[1] || payload[1] !== payload[2])) echoed++;
      heard?.(payload, codec, session);
    };
    call.send(new SineSource(1000, 8000));
    await sleep(2000); // the echo flowing, start-up work done

    const sent0 = call.rtp.stats.packetsSent;
    const rx0 = arrivals.length;
    const echoed0 = echoed;
    const from = new Date(Date.now() - 30 * DAY).toISOString();
    t = performance.now();
    const res = await fetch(`http://127.0.0.1:${HTTP_PORT}/api/v1/calls.csv?from=${from}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    let bytes = 0;
    let lines = 0;
    let firstByteMs = 0;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      if (bytes === 0) firstByteMs = performance.now() - t;
      bytes += chunk.length;
      for (const b of chunk) if (b === 10) lines++;
    }
    const t1 = performance.now();
    const exportMs = t1 - t;
    await sleep(1000); // whatever was queued comes back
    const sent = call.rtp.stats.packetsSent - sent0;
    const during = arrivals.slice(rx0);
    let longest = 0;
    let longestAt = 0;
    let late = 0;
    for (let i = 1; i < during.length; i++) {
      const gap = during[i]! - during[i - 1]!;
      if (gap > longest) [longest, longestAt] = [gap, during[i - 1]! - t];
      if (gap > 60) late += gap - 20;
    }
    // Of the packets sent from the export's start to a second after its end, those not back
    // (one or two may still be on their way).
    const lost = Math.max(0, sent - (echoed - echoed0));
    console.log(
      `export: HTTP ${res.status}, ${lines - 1} rows, ${(bytes / 1e6).toFixed(1)} MB, ` +
        `first byte ${firstByteMs.toFixed(0)} ms, all ${(exportMs / 1000).toFixed(2)} s`,
    );
    console.log(
      `echo call during the export: ${sent} packets sent, longest gap between packets back ` +
        `${longest.toFixed(0)} ms (from ${longestAt.toFixed(0)} ms into the export), ` +
        `${echoed - echoed0} echoed back, audio late beyond 60 ms ${late.toFixed(0)} ms, lost ${lost}`,
    );
    await call.hangup();
  } finally {
    await phone.close();
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
