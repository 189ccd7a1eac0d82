/**
 * Goertzel algorithm: power of one frequency in a block of samples, O(N) per
 * frequency, no FFT. Used by the test phone to say which tone it heard.
 */

/**
 * |X(f)|² over `samples[start .. start+length)`, computed at the exact frequency
 * (not rounded to a DFT bin). A full-scale sine of amplitude A gives ≈ (A·N/2)².
 */
export function goertzelPower(
  samples: Int16Array,
  freq: number,
  sampleRate = 8000,
  start = 0,
  length: number = samples.length - start,
): number {
  const w = (2 * Math.PI * freq) / sampleRate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  const end = start + length;
  for (let i = start; i < end; i++) {
    const s0 = samples[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/**
 * Share of the block's energy at `freq` (≈1 for a pure tone at that frequency, ≈0 when
 * absent; two equal tones give ≈0.5 each).
 */
export function toneRatio(
  samples: Int16Array,
  freq: number,
  sampleRate = 8000,
  start = 0,
  length?: number,
): number {
  const n = length ?? samples.length - start;
  let energy = 0;
  for (let i = start; i < start + n; i++) energy += samples[i]! * samples[i]!;
  if (energy === 0 || n === 0) return 0;
  return (2 * goertzelPower(samples, freq, sampleRate, start, n)) / (n * energy);
}

export interface DetectedTone {
  freq: number;
  /** Share of the block energy at `freq` (see toneRatio). */
  ratio: number;
  /** RMS level of the block. */
  rms: number;
}

export interface DetectToneOptions {
  /** Minimum energy share for a frequency to count (default 0.3). */
  minRatio?: number;
  /** Blocks quieter than this RMS are silence (default 100). */
  minRms?: number;
}

/**
 * The strongest of `freqs` in `samples`, or undefined when the block is silent or none
 * of them carries at least `minRatio` of the energy.
 */
export function detectTone(
  samples: Int16Array,
  freqs: readonly number[],
  sampleRate = 8000,
  options: DetectToneOptions = {},
): DetectedTone | undefined {
  const n = samples.length;
  if (n === 0) return undefined;
  let energy = 0;
  for (let i = 0; i < n; i++) energy += samples[i]! * samples[i]!;
  const rms = Math.sqrt(energy / n);
  if (rms < (options.minRms ?? 100)) return undefined;
  let best: DetectedTone | undefined;
  for (const freq of freqs) {
    const ratio = (2 * goertzelPower(samples, freq, sampleRate)) / (n * energy);
    if (!best || ratio > best.ratio) best = { freq, ratio, rms };
  }
  return best && best.ratio >= (options.minRatio ?? 0.3) ? best : undefined;
}
