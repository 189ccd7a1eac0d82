/**
 * DTMF keys made by sox (not by our code), for the inband detector: per key
 * `sox -n -r 8000 -c 1 -b 16 k.wav synth 0.04 sin ROW sin COL gain G` (two synth tones
 * on one channel are mixed, each at half scale before `gain`: measured with `sox … stats`,
 * peak −6.02 dBFS per tone; without an effect after synth sox writes 3 dB lower still)
 * and a silence of the gap,
 * concatenated and written as μ-law. G puts each tone at the requested dBm0
 * (0 dBm0 = peak 22657 of 32768, the G.711 digital milliwatt).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dtmfFrequencies } from '../../src/sim/dtmf-tones.ts';

export interface SoxDtmfOptions {
  toneMs?: number;
  gapMs?: number;
  leadMs?: number;
  levelDbm0?: number;
}

const SOX_TONE_PEAK = 0.5 * 32768;

/** Writes `digits` as a μ-law WAV at `file` and returns the μ-law bytes (header stripped). */
export function soxDtmf(
  sox: string,
  dir: string,
  file: string,
  digits: string,
  o: SoxDtmfOptions = {},
): Buffer {
  const toneS = (o.toneMs ?? 40) / 1000;
  const gapS = (o.gapMs ?? 40) / 1000;
  const gain = 20 * Math.log10((22657 * Math.pow(10, (o.levelDbm0 ?? -20) / 20)) / SOX_TONE_PEAK);
  const fmt = ['-r', '8000', '-c', '1', '-b', '16'];
  const parts: string[] = [];
  const silence = (name: string, s: number): string => {
    const f = path.join(dir, name);
    execFileSync(sox, ['-n', ...fmt, f, 'trim', '0', s.toFixed(3)]);
    return f;
  };
  if (o.leadMs) parts.push(silence('lead.wav', o.leadMs / 1000));
  const gap = silence('gap.wav', gapS);
  [...digits].forEach((d, i) => {
    const [row, col] = dtmfFrequencies(d);
    const f = path.join(dir, `key${i}.wav`);
    execFileSync(sox, [
      '-n',
      ...fmt,
      f,
      'synth',
      toneS.toFixed(3),
      'sin',
      `${row}`,
      'sin',
      `${col}`,
      'gain',
      gain.toFixed(2),
    ]);
    parts.push(f, gap);
  });
  execFileSync(sox, [...parts, '-e', 'u-law', '-b', '8', file]);
  return ulawData(readFileSync(file));
}

/** The data chunk of a WAV file. */
function ulawData(wav: Buffer): Buffer {
  let off = 12;
  while (off + 8 <= wav.length) {
    const id = wav.toString('latin1', off, off + 4);
    const size = wav.readUInt32LE(off + 4);
    if (id === 'data') return wav.subarray(off + 8, off + 8 + size);
    off += 8 + size + (size & 1);
  }
  throw new Error('no data chunk');
}
