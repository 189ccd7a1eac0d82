import { describe, expect, it } from 'vitest';
import { detectTone, goertzelPower, toneRatio } from './goertzel.ts';

const sine = (freq: number, n: number, amp = 8000) =>
  Int16Array.from({ length: n }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * freq * i) / 8000)));

describe('goertzel', () => {
  it('finds the power of a pure tone', () => {
    const s = sine(1000, 800);
    expect(Math.sqrt(goertzelPower(s, 1000))).toBeCloseTo((8000 * 800) / 2, -4);
    expect(toneRatio(s, 1000)).toBeGreaterThan(0.95);
    expect(toneRatio(s, 425)).toBeLessThan(0.01);
  });
  it('detectTone names the tone heard, or nothing for silence or noise', () => {
    expect(detectTone(sine(425, 1600), [425, 480, 1000])?.freq).toBe(425);
    expect(detectTone(sine(480, 1600), [425, 480, 1000])?.freq).toBe(480);
    expect(detectTone(new Int16Array(1600), [425])).toBeUndefined();
    let x = 1;
    const noise = Int16Array.from(
      { length: 1600 },
      () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) % 16000) - 8000,
    );
    expect(detectTone(noise, [425, 1000])).toBeUndefined();
  });
});
