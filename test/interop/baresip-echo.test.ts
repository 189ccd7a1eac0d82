/**
 * The real baresip (package baresip-core), headless, against an in-process server over
 * loopback: it calls the echo test (9001) sending a 1 kHz tone from a WAV (aufile) and
 * dumps what it receives (sndfile); the dump must hold the tone.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../src/server.ts';
import { encodeWav, readWav } from '../../src/media/wav.ts';
import { toneRatio } from '../../src/media/goertzel.ts';
import { startServer } from '../integration/harness.ts';
import {
  CtrlTcp,
  LOOPBACK,
  finishSuite,
  freePortBlock,
  killAll,
  requireTool,
  CLEAN_EXIT,
  sleep,
  spawnTool,
  tempDir,
  watchInbound,
  type ToolProcess,
} from './tools.ts';

const RATE = 8000;
const TONE_HZ = 1000;
const FRAME = 160; // 20 ms

/** 8 kHz mono s16 WAV: `toneMs` of a sine at −12 dBFS, then silence (aufile ends the call at EOF). */
function toneWav(freq: number, toneMs: number, totalMs: number): Buffer {
  const n = (RATE * totalMs) / 1000;
  const toneN = (RATE * toneMs) / 1000;
  const s = new Int16Array(n);
  for (let i = 0; i < toneN; i++) s[i] = Math.round(8192 * Math.sin((2 * Math.PI * freq * i) / RATE));
  return encodeWav(s, RATE);
}

interface BaresipPorts {
  /** SIP over UDP and TCP; baresip also takes TLS at sip+1. */
  sip: number;
  ctrl: number;
  rtpMin: number;
  rtpMax: number;
}

/** A config dir for a headless baresip 1.0.0: no sound card, WAV in, WAV dumps out, ctrl_tcp. */
function baresipConfig(dir: string, ports: BaresipPorts, sourceWav: string, dumpDir: string): void {
  const config = [
    'poll_method\t\tepoll',
    `sip_listen\t\t${LOOPBACK}:${ports.sip}`,
    'call_local_timeout\t30',
    'call_max_calls\t\t1',
    // No sound card: aubridge is a do-nothing device (player side); audio comes from the WAV.
    'audio_player\t\taubridge,nil',
    'audio_alert\t\taubridge,nil',
    `audio_source\t\taufile,${sourceWav}`,
    'ausrc_format\t\ts16',
    'auplay_format\t\ts16',
    'auenc_format\t\ts16',
    'audec_format\t\ts16',
    `rtp_ports\t\t${ports.rtpMin}-${ports.rtpMax}`,
    'rtp_timeout\t\t10',
    'module_path\t\t/usr/lib/baresip/modules',
    'module\t\t\tg711.so',
    'module\t\t\taufile.so',
    'module\t\t\taubridge.so',
    // Audio filter: writes dump-<time>-enc.wav (sent) and dump-<time>-dec.wav (received).
    'module\t\t\tsndfile.so',
    'module_tmp\t\taccount.so',
    // menu registers the commands (dial, hangup, quit) that ctrl_tcp runs.
    'module_app\t\tmenu.so',
    'module_app\t\tctrl_tcp.so',
    `ctrl_tcp_listen\t\t${LOOPBACK}:${ports.ctrl}`,
    `snd_path\t\t${dumpDir}`,
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'config'), config);
  // regint=0: no REGISTER; PCMU only, so that both directions are G.711 μ-law.
  writeFileSync(
    path.join(dir, 'accounts'),
    `<sip:interop@${LOOPBACK}>;regint=0;answermode=manual;audio_codecs=pcmu\n`,
  );
  writeFileSync(path.join(dir, 'contacts'), '');
}

/** Per 20 ms frame: does it carry `freq` (≥ 90 % of its energy, not silence)? */
function toneFrames(samples: Int16Array, freq: number): boolean[] {
  const out: boolean[] = [];
  for (let off = 0; off + FRAME <= samples.length; off += FRAME) {
    let energy = 0;
    for (let i = off; i < off + FRAME; i++) energy += samples[i]! * samples[i]!;
    const rms = Math.sqrt(energy / FRAME);
    out.push(rms > 1000 && toneRatio(samples, freq, RATE, off, FRAME) > 0.9);
  }
  return out;
}

describe('baresip: echo test', () => {
  let baresip: string;
  let server: Server | undefined;
  let ctrl: CtrlTcp | undefined;
  let proc: ToolProcess | undefined;

  beforeAll(() => {
    baresip = requireTool('baresip', 'baresip-core');
  });

  afterEach(async () => {
    ctrl?.close();
    ctrl = undefined;
    await killAll();
    await server?.stop();
    server = undefined;
  });

  afterAll(finishSuite);

  it('9001: baresip sends a 1 kHz tone (PCMU) and gets it back', async () => {
    server = await startServer();
    const seen = watchInbound(server);
    const dir = tempDir('baresip');
    const dumpDir = path.join(dir, 'dump');
    mkdirSync(dumpDir);
    const wav = path.join(dir, 'tone.wav');
    // 10 s of tone, 20 s in all: the call is over long before aufile reaches the end.
    writeFileSync(wav, toneWav(TONE_HZ, 10_000, 20_000));
    const base = await freePortBlock(20);
    baresipConfig(dir, { sip: base, ctrl: base + 4, rtpMin: base + 10, rtpMax: base + 19 }, wav, dumpDir);

    // -t: baresip quits by itself should the test lose control of it.
    proc = spawnTool(baresip, ['-f', dir, '-4', '-n', LOOPBACK, '-t', '20'], {
      cwd: dir,
      timeoutMs: 25_000,
      name: 'baresip',
    });
    const p = proc;
    ctrl = await CtrlTcp.connect(base + 4, 5000, p);
    const dialed = await ctrl.command('dial', `sip:9001@${LOOPBACK}:${server.sipPort}`);
    expect(dialed.ok, p.tail()).toBe(true);
    await ctrl.waitEvent('CALL_ESTABLISHED', 5000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${p.tail()}`);
    });
    await sleep(2500);
    await ctrl.command('hangup');
    await ctrl.waitEvent('CALL_CLOSED', 3000);
    await ctrl.command('quit').catch(() => undefined); // it may close the socket before answering
    const exit = await p.wait(5000);
    expect(exit, p.tail()).toEqual(CLEAN_EXIT);

    expect(seen.map((c) => c.called)).toEqual(['9001']);
    const dumps = readdirSync(dumpDir);
    const dec = dumps.find((f) => f.endsWith('-dec.wav'));
    expect(dec, `sndfile dumps: ${dumps.join(', ')}\n${p.tail()}`).toBeDefined();
    const received = readWav(path.join(dumpDir, dec!));
    const frames = toneFrames(received, TONE_HZ);
    const withTone = frames.filter(Boolean).length;
    // 2.5 s of call: at least 1.5 s (75 frames) of our tone must have come back.
    expect(
      withTone,
      `${withTone}/${frames.length} received frames carry ${TONE_HZ} Hz`,
    ).toBeGreaterThanOrEqual(75);
    // baresip's BYE ended the server's leg.
    expect(seen[0]?.ended).toBe(true);
  }, 30_000);
});
