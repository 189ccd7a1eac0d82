/**
 * baresip 1.0.0 (Debian baresip-core) as a SIP-phone agent: a config dir made
 * from test/fixtures/baresip/config.template, an account that registers to
 * AgentLine with digest auth (UDP or TLS) and answers by itself, a WAV it
 * plays and sndfile dumps of what it receives, driven over ctrl_tcp.
 *
 * `accountParams` are appended to the account line (e.g. `;mediaenc=srtp-mand`)
 * and `modules` to the module list (e.g. `srtp.so`), so that later tests can
 * add media encryption without another harness.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWav, readWav } from '../../src/media/wav.ts';
import { toneRatio } from '../../src/media/goertzel.ts';
import { CtrlTcp, LOOPBACK, freePortBlock, sleep, spawnTool, tempDir, type ToolProcess } from './tools.ts';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const TLS_FIXTURES = path.join(FIXTURES, 'tls');
const TEMPLATE = path.join(FIXTURES, 'baresip', 'config.template');

const RATE = 8000;
const FRAME = 160; // 20 ms

/** 8 kHz mono s16 WAV of a sine at −12 dBFS (aufile ends the call at EOF: make it long). */
export function toneWav(freq: number, ms: number): Buffer {
  const n = (RATE * ms) / 1000;
  const s = new Int16Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.round(8192 * Math.sin((2 * Math.PI * freq * i) / RATE));
  return encodeWav(s, RATE);
}

/** 20 ms frames of `samples` that carry `freq` (≥ 90 % of their energy, not silence). */
export function framesWithTone(samples: Int16Array, freq: number): number {
  let n = 0;
  for (let off = 0; off + FRAME <= samples.length; off += FRAME) {
    let energy = 0;
    for (let i = off; i < off + FRAME; i++) energy += samples[i]! * samples[i]!;
    if (Math.sqrt(energy / FRAME) > 1000 && toneRatio(samples, freq, RATE, off, FRAME) > 0.9) n++;
  }
  return n;
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
  /** Appended to the account line, e.g. `;mediaenc=srtp-mand`. */
  accountParams?: string;
  /** Extra modules, e.g. `['srtp.so']`. */
  modules?: string[];
  /** Registration interval asked for (s). */
  regint?: number;
}

export class BaresipAgent {
  private constructor(
    readonly proc: ToolProcess,
    readonly ctrl: CtrlTcp,
    readonly dir: string,
    readonly dumpDir: string,
    readonly sipPort: number,
  ) {}

  /** Starts baresip; it registers at once (regint) and auto-answers calls. */
  static async start(o: BaresipAgentOptions): Promise<BaresipAgent> {
    const dir = tempDir('baresip-agent');
    const dumpDir = path.join(dir, 'dump');
    mkdirSync(dumpDir);
    const wav = path.join(dir, 'tone.wav');
    writeFileSync(wav, toneWav(o.toneHz, 120_000));
    const base = await freePortBlock(20);
    const tls = o.transport === 'tls';
    const config = readFileSync(TEMPLATE, 'utf8')
      .replaceAll('@SIP_PORT@', String(base))
      .replaceAll(
        '@SIP_TLS@',
        // Our test CA verifies AgentLine's certificate; baresip's own (same CA) lets it take TLS at base+1.
        tls
          ? `sip_cafile\t\t${path.join(TLS_FIXTURES, 'ca.crt')}\nsip_certificate\t\t${path.join(TLS_FIXTURES, 'server.pem')}`
          : '',
      )
      .replaceAll('@SOURCE_WAV@', wav)
      .replaceAll('@RTP_MIN@', String(base + 10))
      .replaceAll('@RTP_MAX@', String(base + 19))
      .replaceAll('@EXTRA_MODULES@', (o.modules ?? []).map((m) => `module\t\t\t${m}`).join('\n'))
      .replaceAll('@CTRL_PORT@', String(base + 4))
      .replaceAll('@DUMP_DIR@', dumpDir);
    writeFileSync(path.join(dir, 'config'), config);
    const transport = tls ? ';transport=tls' : '';
    writeFileSync(
      path.join(dir, 'accounts'),
      `<sip:${o.user}@${LOOPBACK}:${o.registrarPort}${transport}>;auth_pass=${o.password};` +
        `regint=${o.regint ?? 600};answermode=auto;audio_codecs=pcmu${o.accountParams ?? ''}\n`,
    );
    writeFileSync(path.join(dir, 'contacts'), '');
    const proc = spawnTool(o.baresip, ['-f', dir, '-4', '-n', LOOPBACK, '-t', '110'], {
      cwd: dir,
      timeoutMs: 115_000,
      name: 'baresip',
    });
    const ctrl = await CtrlTcp.connect(base + 4, 5000, proc);
    return new BaresipAgent(proc, ctrl, dir, dumpDir, base);
  }

  /** The sndfile dumps of received audio so far. */
  decDumps(): string[] {
    return readdirSync(this.dumpDir).filter((f) => f.endsWith('-dec.wav'));
  }

  /** Frames with `freq` in the newest received-audio dump not in `before`. */
  toneFramesInNewDump(before: string[], freq: number): { frames: number; file: string | undefined } {
    const file = this.decDumps().find((f) => !before.includes(f));
    if (!file) return { frames: 0, file };
    return { frames: framesWithTone(readWav(path.join(this.dumpDir, file)), freq), file };
  }

  /** Sends RFC 4733 digits in the current call. */
  async digits(d: string): Promise<void> {
    const r = await this.ctrl.command('sndcode', d);
    if (!r.ok) throw new Error(`sndcode ${d} refused: ${JSON.stringify(r)}\n${this.proc.tail()}`);
    await sleep(100 * d.length);
  }

  async quit(): Promise<void> {
    await this.ctrl.command('quit').catch(() => undefined); // it may close the socket before answering
    this.ctrl.close();
    await this.proc.wait(5000);
  }
}
