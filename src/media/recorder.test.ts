import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALAW_TO_ULAW, FRAME_SAMPLES, ulawEncode } from './codec/g711.ts';
import type { MediaClock, Tickable } from './media-clock.ts';
import { G711_WAV_HEADER_BYTES, Recorder, g711WavHeader } from './recorder.ts';

interface HandClock {
  members: Set<Tickable>;
  add(t: Tickable): void;
  remove(t: Tickable): void;
  tickAll(n: number): void;
}

/** A clock the test ticks by hand (the recorder uses only add/remove of a MediaClock). */
function handClock(): HandClock & { asClock: MediaClock } {
  const members = new Set<Tickable>();
  const c: HandClock = {
    members,
    add: (t) => void members.add(t),
    remove: (t) => void members.delete(t),
    tickAll(n) {
      for (let i = 0; i < n; i++) for (const m of members) m.tick();
    },
  };
  return Object.assign(c, { asClock: c as unknown as MediaClock });
}

const frame = (byte: number, n = FRAME_SAMPLES): Buffer => Buffer.alloc(n, byte);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recorder-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('g711WavHeader', () => {
  it('describes interleaved 8 kHz G.711 with a fact chunk (format 7 μ-law, 6 A-law)', () => {
    const h = g711WavHeader('PCMU', 2, 1000);
    expect(h.length).toBe(G711_WAV_HEADER_BYTES);
    expect(h.toString('latin1', 0, 4)).toBe('RIFF');
    expect(h.readUInt32LE(4)).toBe(G711_WAV_HEADER_BYTES - 8 + 2000);
    expect(h.readUInt16LE(20)).toBe(7);
    expect(h.readUInt16LE(22)).toBe(2);
    expect(h.readUInt32LE(24)).toBe(8000);
    expect(h.readUInt32LE(28)).toBe(16000);
    expect(h.readUInt16LE(32)).toBe(2);
    expect(h.readUInt16LE(34)).toBe(8);
    expect(h.toString('latin1', 38, 42)).toBe('fact');
    expect(h.readUInt32LE(46)).toBe(1000);
    expect(h.toString('latin1', 50, 54)).toBe('data');
    expect(h.readUInt32LE(54)).toBe(2000);
    expect(g711WavHeader('PCMA', 2, 0).readUInt16LE(20)).toBe(6);
  });
});

describe('Recorder', () => {
  it('writes one frame per side per tick, interleaved left/right, silence where a side sent nothing', async () => {
    const clock = handClock();
    const file = join(dir, 'a.wav');
    const rec = await Recorder.start({ file, codec: 'PCMU', clock: clock.asClock });
    expect(clock.members.has(rec)).toBe(true);
    rec.received(frame(0x11), 'PCMU');
    rec.sent(frame(0x22), 'PCMU');
    clock.tickAll(1);
    rec.received(frame(0x33), 'PCMU'); // right side silent on this tick
    clock.tickAll(1);
    clock.tickAll(1); // both silent
    const result = await rec.stop();
    expect(clock.members.has(rec)).toBe(false);
    expect(result).toEqual({ file, durationMs: 60, bytes: G711_WAV_HEADER_BYTES + 3 * FRAME_SAMPLES * 2 });
    const data = await readFile(file);
    expect(data.length).toBe(result.bytes);
    expect(data.readUInt32LE(54)).toBe(3 * FRAME_SAMPLES * 2);
    const body = data.subarray(G711_WAV_HEADER_BYTES);
    const side = (f: number, ch: 0 | 1) =>
      new Set(Array.from({ length: FRAME_SAMPLES }, (_, i) => body[(f * FRAME_SAMPLES + i) * 2 + ch]));
    expect(side(0, 0)).toEqual(new Set([0x11]));
    expect(side(0, 1)).toEqual(new Set([0x22]));
    expect(side(1, 0)).toEqual(new Set([0x33]));
    expect(side(1, 1)).toEqual(new Set([0xff]));
    expect(side(2, 0)).toEqual(new Set([0xff]));
    // stop() answers the same every time.
    await expect(rec.stop()).resolves.toEqual(result);
  });

  it("transcodes a side whose packets carry the other law to the file's codec", async () => {
    const clock = handClock();
    const file = join(dir, 'b.wav');
    const rec = await Recorder.start({ file, codec: 'PCMU', clock: clock.asClock });
    rec.sent(frame(0x2a), 'PCMA');
    clock.tickAll(1);
    await rec.stop();
    const body = (await readFile(file)).subarray(G711_WAV_HEADER_BYTES);
    expect(body[1]).toBe(ALAW_TO_ULAW[0x2a]);
  });

  it('keeps a side that arrives in bursts near the clock: past 8 queued frames the oldest go', async () => {
    const clock = handClock();
    const file = join(dir, 'c.wav');
    const rec = await Recorder.start({ file, codec: 'PCMU', clock: clock.asClock });
    for (let i = 0; i < 10; i++) rec.received(frame(i + 1), 'PCMU');
    clock.tickAll(9);
    await rec.stop();
    const body = (await readFile(file)).subarray(G711_WAV_HEADER_BYTES);
    const left = Array.from({ length: 9 }, (_, f) => body[f * FRAME_SAMPLES * 2]);
    expect(left).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 0xff]);
  });

  it('joins frames of 10 ms packets and spans the one-second writes', async () => {
    const clock = handClock();
    const file = join(dir, 'd.wav');
    const rec = await Recorder.start({ file, codec: 'PCMA', clock: clock.asClock });
    for (let f = 0; f < 120; f++) {
      rec.received(frame(0x40, 80), 'PCMA');
      rec.received(frame(0x40, 80), 'PCMA');
      clock.tickAll(1);
    }
    const result = await rec.stop();
    expect(result.durationMs).toBe(2400);
    const body = (await readFile(file)).subarray(G711_WAV_HEADER_BYTES);
    expect(body.length).toBe(120 * FRAME_SAMPLES * 2);
    for (let i = 0; i < body.length; i += 2) {
      expect(body[i]).toBe(0x40);
      expect(body[i + 1]).toBe(0xd5); // A-law silence
    }
  });

  it('refuses a file that exists (never overwrites a recording)', async () => {
    const file = join(dir, 'e.wav');
    await writeFile(file, 'x');
    await expect(Recorder.start({ file, codec: 'PCMU', clock: handClock().asClock })).rejects.toThrow();
  });

  it('writes a file sox reads as 2-channel 8 kHz μ-law, a tone on each side', async () => {
    const clock = handClock();
    const file = join(dir, 'f.wav');
    const rec = await Recorder.start({ file, codec: 'PCMU', clock: clock.asClock });
    const tone = (hz: number, f: number) => {
      const b = Buffer.alloc(FRAME_SAMPLES);
      for (let i = 0; i < FRAME_SAMPLES; i++)
        b[i] = ulawEncode(Math.round(8000 * Math.sin((2 * Math.PI * hz * (f * FRAME_SAMPLES + i)) / 8000)));
      return b;
    };
    for (let f = 0; f < 50; f++) {
      rec.received(tone(400, f), 'PCMU');
      rec.sent(tone(1200, f), 'PCMU');
      clock.tickAll(1);
    }
    await rec.stop();
    const info = execFileSync('sox', ['--i', file], { encoding: 'utf8' });
    expect(info).toMatch(/Channels\s*:\s*2/);
    expect(info).toMatch(/Sample Rate\s*:\s*8000/);
    expect(info).toMatch(/u-law/);
    expect(info).toMatch(/Duration\s*:\s*00:00:01\.00/);
  });
});
