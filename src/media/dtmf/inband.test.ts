import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ulawEncode } from '../codec/g711.ts';
import { parseWav } from '../wav.ts';
import { DTMF_COLS, DTMF_ROWS, InbandDtmfDetector } from './inband.ts';
import { LANGUAGES } from '../../store/vocabulary.ts';

const KEYS = ['123A', '456B', '789C', '*0#D'];
/** Peak amplitude (16-bit) of a sine at this level; 0 dBm0 = 22657. */
const amp = (dbm0: number): number => 22657 * Math.pow(10, dbm0 / 20);

function rowCol(key: string): [number, number] {
  for (let r = 0; r < 4; r++) {
    const c = KEYS[r]!.indexOf(key);
    if (c >= 0) return [DTMF_ROWS[r]!, DTMF_COLS[c]!];
  }
  throw new Error(key);
}

interface ToneSpec {
  ms?: number;
  /** Per-tone level of the row tone, dBm0. */
  level?: number;
  /** Column level minus row level, dB (positive = normal twist). */
  twist?: number;
  /** Relative frequency error of the row and column tones. */
  rowDev?: number;
  colDev?: number;
}

let phase = 0;
function tone(key: string, spec: ToneSpec = {}): number[] {
  const [fr, fc] = rowCol(key);
  const n = Math.round(((spec.ms ?? 40) * 8000) / 1000);
  const ar = amp(spec.level ?? -20);
  const ac = amp((spec.level ?? -20) + (spec.twist ?? 0));
  const wr = (2 * Math.PI * fr * (1 + (spec.rowDev ?? 0))) / 8000;
  const wc = (2 * Math.PI * fc * (1 + (spec.colDev ?? 0))) / 8000;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    phase++;
    out.push(ar * Math.sin(wr * phase) + ac * Math.sin(wc * phase + 1));
  }
  return out;
}

const silence = (ms: number): number[] => new Array<number>(ms * 8).fill(0);

/** Runs samples through μ-law, as they arrive on a leg, and returns the digits. */
function detect(samples: number[], det = new InbandDtmfDetector()): string {
  let got = '';
  det.onDigit = (d) => (got += d);
  const payload = Buffer.alloc(samples.length);
  samples.forEach((s, i) => (payload[i] = ulawEncode(Math.max(-32768, Math.min(32767, Math.round(s))))));
  for (let i = 0; i < payload.length; i += 160) det.feedPayload(payload.subarray(i, i + 160), 'PCMU');
  return got;
}

function sequence(keys: string, spec: ToneSpec = {}, gapMs = 40): number[] {
  const out: number[] = [...silence(30)];
  for (const k of keys) out.push(...tone(k, spec), ...silence(gapMs));
  return out;
}

describe('inband DTMF detector', () => {
  it('detects every key as a 40 ms tone at −20 dBm0 with 40 ms gaps', () => {
    expect(detect(sequence('0123456789*#ABCD'))).toBe('0123456789*#ABCD');
  });

  it('detects a repeated key once per press, each press 40 ms apart', () => {
    expect(detect(sequence('1111'))).toBe('1111');
    expect(detect(sequence('55#55'))).toBe('55#55');
  });

  it('reports a long press once', () => {
    expect(detect([...tone('7', { ms: 500 }), ...silence(50)])).toBe('7');
  });

  it('holds a key through a 10 ms drop-out', () => {
    expect(detect([...tone('3', { ms: 60 }), ...silence(10), ...tone('3', { ms: 60 }), ...silence(50)])).toBe(
      '3',
    );
  });

  it('ignores tones much shorter than 40 ms', () => {
    expect(detect(sequence('123', { ms: 15 }))).toBe('');
  });

  it('detects at −30 dBm0 per tone and not at −40', () => {
    expect(detect(sequence('159#', { level: -28 }))).toBe('159#');
    expect(detect(sequence('159#', { level: -40 }))).toBe('');
  });

  it('accepts 8 dB normal twist and 4 dB reverse twist, rejects beyond', () => {
    expect(detect(sequence('0123456789*#', { twist: 7 }))).toBe('0123456789*#');
    expect(detect(sequence('0123456789*#', { twist: -3 }))).toBe('0123456789*#');
    expect(detect(sequence('0123456789*#', { twist: 10 }))).toBe('');
    expect(detect(sequence('0123456789*#', { twist: -6 }))).toBe('');
  });

  it('detects frequencies off by ±1.5 % and rejects them off by ±3.5 %', () => {
    const all = '0123456789*#ABCD';
    for (const d of [0.015, -0.015]) {
      expect(detect(sequence(all, { rowDev: d, colDev: d }))).toBe(all);
      expect(detect(sequence(all, { rowDev: d, colDev: -d }))).toBe(all);
    }
    for (const d of [0.035, -0.035]) {
      expect(detect(sequence(all, { rowDev: d }))).toBe('');
      expect(detect(sequence(all, { colDev: d }))).toBe('');
    }
  });

  it('detects through white noise 20 dB below the tones', () => {
    let seed = 1;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
    const noiseRms = (amp(-20 - 20) / Math.SQRT2) * Math.SQRT2; // both tones together are 3 dB over one
    const s = sequence('0123456789*#').map((x) => x + rnd() * noiseRms * Math.sqrt(3));
    expect(detect(s)).toBe('0123456789*#');
  });

  it('finds nothing in noise alone, single tones or a tone with its second harmonic', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
    expect(detect(Array.from({ length: 8000 * 5 }, () => rnd() * amp(-10)))).toBe('');
    const single: number[] = [];
    for (const f of [...DTMF_ROWS, ...DTMF_COLS]) {
      for (let i = 0; i < 800; i++) single.push(amp(-10) * Math.sin((2 * Math.PI * f * i) / 8000));
    }
    expect(detect(single)).toBe('');
    // A "voice" on 697 + 1209 with strong second harmonics of both.
    const voiced: number[] = [];
    for (let i = 0; i < 4000; i++) {
      const t = (2 * Math.PI * i) / 8000;
      voiced.push(
        amp(-20) *
          (Math.sin(697 * t) + Math.sin(1209 * t) + 0.6 * Math.sin(2 * 1209 * t) + Math.sin(2 * 697 * t)),
      );
    }
    expect(detect(voiced)).toBe('');
  });
});

describe('inband DTMF detector against what we play', () => {
  const root = join(import.meta.dirname, '..', '..', '..', 'prompts');
  const files = [
    join(root, 'moh.wav'),
    ...LANGUAGES.flatMap((lang) =>
      readdirSync(join(root, lang))
        .filter((f) => f.endsWith('.wav'))
        .sort()
        .map((f) => join(root, lang, f)),
    ),
  ];

  it('finds no key in any shipped prompt or the music on hold', () => {
    expect(files.length).toBeGreaterThan(60);
    const found: string[] = [];
    let seconds = 0;
    for (const file of files) {
      // The files are μ-law: feed their bytes as RTP payloads of 20 ms, as a leg would.
      const samples = parseWav(readFileSync(file), file);
      seconds += samples.length / 8000;
      const det = new InbandDtmfDetector();
      det.onDigit = (d) => found.push(`${file}: ${d}`);
      const payload = Buffer.alloc(samples.length);
      samples.forEach((s, i) => (payload[i] = ulawEncode(s)));
      for (let i = 0; i < payload.length; i += 160) det.feedPayload(payload.subarray(i, i + 160), 'PCMU');
    }
    expect(found).toEqual([]);
    expect(seconds).toBeGreaterThan(30);
  });
});
