import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectTone } from './goertzel.ts';
import { ClipPlayer, LoopPlayer, PromptCache } from './player.ts';
import { SilenceSource, ToneSource, toneSamples } from './tones.ts';
import { writeWavFile } from './wav.ts';

function drain(src: { read(out: Int16Array): boolean }, maxFrames = 1000): Int16Array[] {
  const frames: Int16Array[] = [];
  for (let i = 0; i < maxFrames; i++) {
    const f = new Int16Array(160);
    if (!src.read(f)) break;
    frames.push(f);
  }
  return frames;
}
const concat = (frames: Int16Array[]) => {
  const out = new Int16Array(frames.length * 160);
  frames.forEach((f, i) => out.set(f, i * 160));
  return out;
};

describe('ClipPlayer', () => {
  it('plays clips back to back, pads the last frame, then finishes', () => {
    const a = new Int16Array(200).fill(1);
    const b = new Int16Array(100).fill(2);
    const p = new ClipPlayer([a, b]);
    const out = concat(drain(p));
    expect(out.length).toBe(320);
    expect(out[199]).toBe(1);
    expect(out[200]).toBe(2);
    expect(out[299]).toBe(2);
    expect(out[300]).toBe(0);
    expect(p.finished).toBe(true);
  });
  it('inserts silence between clips', () => {
    const p = new ClipPlayer([new Int16Array(160).fill(5), new Int16Array(160).fill(6)], { gapMs: 40 });
    const out = concat(drain(p));
    expect(out.length).toBe(160 * 4);
    expect(out[159]).toBe(5);
    expect(out[160]).toBe(0);
    expect(out[479]).toBe(0);
    expect(out[480]).toBe(6);
  });
  it('stop() ends it', () => {
    const p = new ClipPlayer([new Int16Array(8000)]);
    expect(p.read(new Int16Array(160))).toBe(true);
    p.stop();
    expect(p.read(new Int16Array(160))).toBe(false);
  });
});

describe('LoopPlayer and tones', () => {
  it('loops music on hold across the clip end', () => {
    const clip = Int16Array.from({ length: 100 }, (_, i) => i);
    const frames = drain(new LoopPlayer(clip), 3);
    expect(frames).toHaveLength(3);
    expect(frames[0]![100]).toBe(0);
    expect(frames[2]![0]).toBe(20); // 320 % 100
  });
  it('ringback is 1 s of 425 Hz then 4 s of silence, looping', () => {
    const s = toneSamples('ringback');
    expect(s.length).toBe(40000);
    expect(detectTone(s.subarray(800, 1600), [425, 480, 1000])?.freq).toBe(425);
    expect(detectTone(s.subarray(9000, 10000), [425])).toBeUndefined();
    expect(drain(new ToneSource('ringback'), 600)).toHaveLength(600);
  });
  it('beeps end; error is three 480 Hz bursts', () => {
    expect(drain(new ToneSource('accept'))).toHaveLength(8); // 150 ms → 7.5 frames
    const err = concat(drain(new ToneSource('error')));
    expect(detectTone(err.subarray(0, 640), [480, 1000])?.freq).toBe(480);
    expect(detectTone(err.subarray(640, 1280), [480])).toBeUndefined();
    expect(drain(new SilenceSource(100))).toHaveLength(5);
  });
});

describe('PromptCache', () => {
  it('loads a file once and shares the clip', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'prompts-'));
    try {
      const path = join(dir, 'hello.wav');
      await writeWavFile(path, new Int16Array(800).fill(7));
      const cache = new PromptCache();
      const [a, b] = await Promise.all([cache.load(path), cache.load(path)]);
      expect(a).toBe(b);
      expect(cache.get(path)).toBe(a);
      expect(cache.peek(join(dir, 'other.wav'))).toBeUndefined();
      const sync = new PromptCache();
      expect(sync.get(path)).toBe(sync.get(path));
      expect(sync.get(path).length).toBe(800);
      expect(() => sync.get(join(dir, 'missing.wav'))).toThrow(/ENOENT/);
      await writeFile(join(dir, 'bad.wav'), 'nope');
      await expect(cache.load(join(dir, 'bad.wav'))).rejects.toThrow(/not a RIFF/);
      expect(cache.size).toBe(1);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
