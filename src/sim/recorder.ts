import { decodeFrame, encodeFrame, type Codec } from '../media/codec/g711.ts';
import { readWav } from '../media/wav.ts';
import { goertzelPower } from '../media/goertzel.ts';

const fingerprints = new Map<string, Buffer>();

/**
 * The bytes by which a prompt is recognised: the prompt file encoded with the
 * call's codec exactly as the server's player encodes it, cut to the loudest
 * 100 ms of its first second and a half (silence is the same in every prompt
 * and would match anywhere; the start is what is heard first, even when a key
 * interrupts a long prompt).
 */
function fingerprint(file: string, codec: Codec): Buffer {
  const key = `${codec}:${file}`;
  const cached = fingerprints.get(key);
  if (cached) return cached;
  const samples = readWav(file);
  const encoded = Buffer.alloc(samples.length);
  encodeFrame(codec, samples, encoded, 0);
  const win = 800;
  let best = 0;
  let bestEnergy = -1;
  const searchEnd = Math.min(samples.length, 12_000);
  for (let start = 0; start + win <= searchEnd; start += 80) {
    let e = 0;
    for (let i = start; i < start + win; i += 4) e += Math.abs(samples[i] ?? 0);
    if (e > bestEnergy) {
      bestEnergy = e;
      best = start;
    }
  }
  const fp = encoded.subarray(best, Math.min(best + win, encoded.length));
  fingerprints.set(key, fp);
  return fp;
}

/** Everything a test phone hears on one call: raw G.711 bytes and decoded samples. */
export class AudioRecorder {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private joined: Buffer | undefined;
  private waiters = new Set<() => void>();

  constructor(readonly codec: Codec) {}

  push(payload: Buffer, _codec: Codec): void {
    this.chunks.push(Buffer.from(payload));
    this.bytes += payload.length;
    this.joined = undefined;
    for (const w of this.waiters) w();
  }

  get raw(): Buffer {
    this.joined ??= Buffer.concat(this.chunks, this.bytes);
    return this.joined;
  }

  /** Milliseconds of audio received so far. */
  get durationMs(): number {
    return this.bytes / 8;
  }

  samples(fromMs = 0): Int16Array {
    const raw = this.raw.subarray(Math.floor(fromMs * 8));
    const out = new Int16Array(raw.length);
    decodeFrame(this.codec, raw, out);
    return out;
  }

  /** Forget what was heard so far (to assert on what comes next). */
  clear(): void {
    this.chunks = [];
    this.bytes = 0;
    this.joined = undefined;
  }

  heardPrompt(file: string): boolean {
    return this.raw.indexOf(fingerprint(file, this.codec)) >= 0;
  }

  /** Where in the recording (ms) a prompt was heard, or -1. */
  promptAt(file: string): number {
    const at = this.raw.indexOf(fingerprint(file, this.codec));
    return at < 0 ? -1 : at / 8;
  }

  /**
   * True when `freq` dominates at least `minMs` of what was heard. Windows of
   * 40 ms (25 Hz resolution) hop by 20 ms, so that neighbouring tones (425 Hz
   * ringback, 480 Hz error beep) are told apart.
   */
  heardTone(freq: number, minMs = 100, fromMs = 0): boolean {
    const s = this.samples(fromMs);
    const win = 320;
    let run = 0;
    for (let off = 0; off + win <= s.length; off += 160) {
      const block = s.subarray(off, off + win);
      let energy = 0;
      for (const v of block) energy += v * v;
      const p = goertzelPower(block, freq, 8000);
      // A pure tone puts about N/2·Σx² into its bin (Parseval); demand a good share of that.
      const isTone = energy > win * 200 * 200 && p > 0.3 * energy * (win / 2);
      run = isTone ? run + 20 : 0;
      if (run >= minMs) return true;
    }
    return false;
  }

  /** Mean absolute level of the last `ms` of audio (0 = digital silence). */
  level(ms: number): number {
    const s = this.samples(Math.max(0, this.durationMs - ms));
    let sum = 0;
    for (const v of s) sum += Math.abs(v);
    return s.length ? sum / s.length : 0;
  }

  waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const test = (): void => {
        if (!check()) return;
        done();
        resolve();
      };
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(test);
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `did not hear ${what} within ${timeoutMs} ms (heard ${Math.round(this.durationMs)} ms of audio)`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(test);
    });
  }
}
