/**
 * The one baresip harness of the interop tests: baresip 1.0.0 (Debian
 * baresip-core), headless — a config dir made from
 * test/fixtures/baresip/config.template, a WAV it plays (aufile), sndfile
 * dumps of what it sends and receives, driven over ctrl_tcp — plus the tone
 * WAV, the tone-frame counter and sox's view of a recording.
 *
 * `Baresip.start` is the phone with any account line (echo test, SRTP
 * customer); `BaresipAgent.start` is a phone that registers to AgentLine with
 * digest auth (UDP or TLS) and answers by itself. Media encryption is
 * `mediaenc: 'srtp-mand'` (loads srtp.so; the account offers RTP/SAVP only).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWav, readWav } from '../../src/media/wav.ts';
import { toneRatio } from '../../src/media/goertzel.ts';
import { expect } from 'vitest';
import type { Server } from '../../src/server.ts';
import type { TestPhone } from '../phone/phone.ts';
import {
  CLEAN_EXIT,
  CtrlTcp,
  LOOPBACK,
  freePortBlock,
  sleep,
  spawnTool,
  tempDir,
  toolSuite,
  type ToolProcess,
} from './tools.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const TLS_FIXTURES = path.join(FIXTURES, 'tls');
const TEMPLATE = path.join(FIXTURES, 'baresip', 'config.template');

const RATE = 8000;
const FRAME = 160; // 20 ms

/** 8 kHz mono s16 WAV: `toneMs` of a sine at −12 dBFS, then silence up to `totalMs` (aufile ends the call at EOF). */
export function toneWav(freq: number, toneMs: number, totalMs = toneMs): Buffer {
  const n = (RATE * totalMs) / 1000;
  const toneN = (RATE * toneMs) / 1000;
  const s = new Int16Array(n);
  for (let i = 0; i < toneN; i++) s[i] = Math.round(8192 * Math.sin((2 * Math.PI * freq * i) / RATE));
  return encodeWav(s, RATE);
}

/** How many 20 ms frames carry `freq` (≥ 90 % of their energy, not silence), of how many. */
export function toneFrameCount(samples: Int16Array, freq: number): { withTone: number; frames: number } {
  let withTone = 0;
  let frames = 0;
  for (let off = 0; off + FRAME <= samples.length; off += FRAME) {
    let energy = 0;
    for (let i = off; i < off + FRAME; i++) energy += samples[i]! * samples[i]!;
    frames++;
    if (Math.sqrt(energy / FRAME) > 1000 && toneRatio(samples, freq, RATE, off, FRAME) > 0.9) withTone++;
  }
  return { withTone, frames };
}

/** sox's `stat` of a WAV (a second opinion beside our Goertzel): RMS and maximum amplitude, 0…1. */
export function soxStat(file: string): { rms: number; max: number; text: string } {
  // `stat` writes its report to stderr.
  const r = spawnSync('sox', [file, '-n', 'stat'], { encoding: 'utf8', timeout: 10_000 });
  const text = `${r.stdout}${r.stderr}`;
  const num = (label: string): number => {
    const m = new RegExp(`^${label}:\\s+(-?[0-9.]+)`, 'm').exec(text);
    if (!m) throw new Error(`sox stat of ${file}: no "${label}"\n${text}`);
    return Number(m[1]);
  };
  return { rms: num('RMS\\s+amplitude'), max: num('Maximum amplitude'), text };
}

export interface BaresipOptions {
  baresip: string;
  /** Hz of the tone it sends from the start of every call. */
  toneHz: number;
  /** How long the tone lasts and the WAV in all (ms; default 120 s of tone). */
  toneMs?: number;
  wavMs?: number;
  /** The account line's address-of-record, e.g. `<sip:interop@127.0.0.1>`. */
  aor: string;
  /** Account parameters after the AOR (no leading `;`), e.g. `regint=0;answermode=manual`. */
  accountParams: string[];
  /** SRTP (RFC 4568 SDES): loads srtp.so; `srtp-mand` offers RTP/SAVP and takes nothing else. */
  mediaenc?: 'srtp' | 'srtp-mand';
  /** TLS: our test CA verifies AgentLine; its own certificate lets it take TLS at its SIP port + 1. */
  tls?: boolean;
  /** baresip's rtp_timeout (s): it hangs up a call whose RTP stops. */
  rtpTimeout?: number;
  /** It quits by itself after this long (-t), should the test lose control of it. */
  runSeconds: number;
  /** Temp dir prefix. */
  name?: string;
}

/** A running baresip: its process, ctrl_tcp and dump dir. */
export class Baresip {
  private constructor(
    readonly proc: ToolProcess,
    readonly ctrl: CtrlTcp,
    readonly dir: string,
    readonly dumpDir: string,
    readonly sipPort: number,
  ) {}

  /** Writes the config dir (SIP at base, ctrl at base+4, RTP at base+10…19), spawns it, connects ctrl_tcp. */
  static async start(o: BaresipOptions): Promise<Baresip> {
    const dir = tempDir(o.name ?? 'baresip');
    const dumpDir = path.join(dir, 'dump');
    mkdirSync(dumpDir);
    const wav = path.join(dir, 'tone.wav');
    writeFileSync(wav, toneWav(o.toneHz, o.toneMs ?? 120_000, o.wavMs ?? o.toneMs ?? 120_000));
    const base = await freePortBlock(20);
    const extra = [
      ...(o.tls
        ? [
            `sip_cafile\t\t${path.join(TLS_FIXTURES, 'ca.crt')}`,
            `sip_certificate\t\t${path.join(TLS_FIXTURES, 'server.pem')}`,
          ]
        : []),
      ...(o.rtpTimeout !== undefined ? [`rtp_timeout\t\t${o.rtpTimeout}`] : []),
    ];
    const config = readFileSync(TEMPLATE, 'utf8')
      .replaceAll('@SIP_PORT@', String(base))
      .replaceAll('@EXTRA_CONFIG@', extra.join('\n'))
      .replaceAll('@SOURCE_WAV@', wav)
      .replaceAll('@RTP_MIN@', String(base + 10))
      .replaceAll('@RTP_MAX@', String(base + 19))
      .replaceAll('@EXTRA_MODULES@', o.mediaenc ? 'module\t\t\tsrtp.so' : '')
      .replaceAll('@CTRL_PORT@', String(base + 4))
      .replaceAll('@DUMP_DIR@', dumpDir);
    writeFileSync(path.join(dir, 'config'), config);
    // PCMU only, so that both directions are G.711 μ-law.
    const params = [
      ...o.accountParams,
      'audio_codecs=pcmu',
      ...(o.mediaenc ? [`mediaenc=${o.mediaenc}`] : []),
    ];
    writeFileSync(path.join(dir, 'accounts'), `${o.aor};${params.join(';')}\n`);
    writeFileSync(path.join(dir, 'contacts'), '');
    const proc = spawnTool(o.baresip, ['-f', dir, '-4', '-n', LOOPBACK, '-t', String(o.runSeconds)], {
      cwd: dir,
      timeoutMs: (o.runSeconds + 5) * 1000,
      name: 'baresip',
    });
    const ctrl = await CtrlTcp.connect(base + 4, 5000, proc);
    return new Baresip(proc, ctrl, dir, dumpDir, base);
  }

  /** Dials `uri` and waits for the call to be established. */
  async dial(uri: string, timeoutMs: number): Promise<void> {
    const dialed = await this.ctrl.command('dial', uri);
    if (!dialed.ok) throw new Error(`dial ${uri} refused: ${JSON.stringify(dialed)}\n${this.proc.tail()}`);
    await this.ctrl.waitEvent('CALL_ESTABLISHED', timeoutMs).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${this.proc.tail()}`);
    });
  }

  /** The sndfile dumps of received audio so far. */
  decDumps(): string[] {
    return readdirSync(this.dumpDir).filter((f) => f.endsWith('-dec.wav'));
  }

  /** The first received-audio dump not in `before` (its path), if any. */
  newDump(before: string[] = []): string | undefined {
    const file = this.decDumps().find((f) => !before.includes(f));
    return file === undefined ? undefined : path.join(this.dumpDir, file);
  }

  /** Frames with `freq` in the newest received-audio dump not in `before`. */
  toneFramesInNewDump(
    before: string[],
    freq: number,
  ): { withTone: number; frames: number; file: string | undefined } {
    const file = this.newDump(before);
    if (!file) return { withTone: 0, frames: 0, file };
    return { ...toneFrameCount(readWav(file), freq), file };
  }

  /** Sends RFC 4733 digits in the current call. */
  async digits(d: string): Promise<void> {
    const r = await this.ctrl.command('sndcode', d);
    if (!r.ok) throw new Error(`sndcode ${d} refused: ${JSON.stringify(r)}\n${this.proc.tail()}`);
    await sleep(100 * d.length);
  }

  /**
   * Waits for the call to close (hanging it up first unless `hangup: false`), quits, and
   * expects baresip to exit by itself with status 0.
   */
  async finishCall(o: { hangup?: boolean; closedMs?: number } = {}): Promise<void> {
    if (o.hangup ?? true) await this.ctrl.command('hangup');
    await this.ctrl.waitEvent('CALL_CLOSED', o.closedMs ?? 3000);
    await this.ctrl.command('quit').catch(() => undefined); // it may close the socket before answering
    expect(await this.proc.wait(5000), this.proc.tail()).toEqual(CLEAN_EXIT);
  }

  /** The samples of the first received-audio dump; fails the test when there is none. */
  received(): Int16Array {
    const dec = this.newDump();
    expect(dec, `no sndfile dump\n${this.proc.tail()}`).toBeDefined();
    return readWav(dec!);
  }

  async quit(): Promise<void> {
    await this.ctrl.command('quit').catch(() => undefined); // it may close the socket before answering
    this.ctrl.close();
    await this.proc.wait(5000);
  }
}

export interface BaresipAgentOptions {
  baresip: string;
  user: string;
  password: string;
  /** Where AgentLine's registrar is: its UDP port, or its TLS port with transport 'tls'. */
  registrarPort: number;
  transport: 'udp' | 'tls';
  /** Hz of the tone it sends in every call. */
  toneHz: number;
  mediaenc?: 'srtp' | 'srtp-mand';
  /** Registration interval asked for (s). */
  regint?: number;
}

/** baresip as a SIP-phone agent: registers with digest auth at once and auto-answers calls. */
export function startBaresipAgent(o: BaresipAgentOptions): Promise<Baresip> {
  const tls = o.transport === 'tls';
  return Baresip.start({
    baresip: o.baresip,
    toneHz: o.toneHz,
    aor: `<sip:${o.user}@${LOOPBACK}:${o.registrarPort}${tls ? ';transport=tls' : ''}>`,
    accountParams: [`auth_pass=${o.password}`, `regint=${o.regint ?? 600}`, 'answermode=auto'],
    ...(o.mediaenc ? { mediaenc: o.mediaenc } : {}),
    tls,
    runSeconds: 110,
    name: 'baresip-agent',
  });
}

/**
 * baresip as a phone that only dials (echo test, SRTP customer): no REGISTER,
 * manual answer, 10 s of `toneHz` in a 20 s WAV (the call is over long before
 * aufile ends it), and rtp_timeout 10 s.
 */
export function startBaresipCaller(o: {
  baresip: string;
  toneHz: number;
  mediaenc?: 'srtp' | 'srtp-mand';
  runSeconds: number;
  name?: string;
}): Promise<Baresip> {
  return Baresip.start({
    ...o,
    toneMs: 10_000,
    wavMs: 20_000,
    aor: `<sip:interop@${LOOPBACK}>`,
    accountParams: ['regint=0', 'answermode=manual'],
    rtpTimeout: 10,
  });
}

export interface BaresipSuite {
  /** baresip's path (found in beforeAll). */
  readonly baresip: string;
  /** What the test started, stopped after it: the baresip, the trunk phone, the server. */
  phone: Baresip | undefined;
  trunk: TestPhone | undefined;
  server: Server | undefined;
}

/**
 * Registers the hooks of a baresip suite (inside `describe`): baresip looked up before all;
 * after each test its ctrl_tcp closed, every tool killed, the trunk phone closed and the
 * server stopped; after all, the temp dirs go and no tool process may be left.
 */
export function baresipSuite(): BaresipSuite {
  const find = toolSuite('baresip', 'baresip-core', {
    beforeKill: () => {
      suite.phone?.ctrl.close();
      suite.phone = undefined;
    },
    cleanup: async () => {
      await suite.trunk?.close();
      suite.trunk = undefined;
      await suite.server?.stop();
      suite.server = undefined;
    },
  });
  const suite: BaresipSuite = {
    get baresip(): string {
      return find();
    },
    phone: undefined,
    trunk: undefined,
    server: undefined,
  };
  return suite;
}
