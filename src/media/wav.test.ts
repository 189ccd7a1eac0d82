import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../util/errors.ts';
import { alawEncode, ulawEncode } from './codec/g711.ts';
import { encodeWav, parseWav, readWavFile, writeWavFile } from './wav.ts';

function lawWav(format: 6 | 7, bytes: number[], opts: { rate?: number; channels?: number } = {}): Buffer {
  const b = Buffer.alloc(46 + bytes.length + 10);
  b.write('RIFF', 0, 'latin1');
  b.writeUInt32LE(b.length - 8, 4);
  b.write('WAVE', 8, 'latin1');
  b.write('fmt ', 12, 'latin1');
  b.writeUInt32LE(18, 16);
  b.writeUInt16LE(format, 20);
  b.writeUInt16LE(opts.channels ?? 1, 22);
  b.writeUInt32LE(opts.rate ?? 8000, 24);
  b.writeUInt32LE(8000, 28);
  b.writeUInt16LE(1, 32);
  b.writeUInt16LE(8, 34);
  b.writeUInt16LE(0, 36); // cbSize
  b.write('fact', 38, 'latin1'); // an extra chunk to skip
  b.writeUInt32LE(2, 42);
  b.write('data', 48, 'latin1');
  b.writeUInt32LE(bytes.length, 52);
  Buffer.from(bytes).copy(b, 56);
  return b.subarray(0, 56 + bytes.length);
}

describe('wav', () => {
  it('round-trips PCM 16-bit through a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wav-'));
    try {
      const s = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
      await writeWavFile(join(dir, 'a.wav'), s);
      expect([...(await readWavFile(join(dir, 'a.wav')))]).toEqual([...s]);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('writes the canonical 44-byte header', () => {
    const w = encodeWav(new Int16Array(2));
    expect(w.subarray(0, 44).toString('hex')).toBe(
      '52494646280000005741564566' + '6d7420100000000100010040' + '1f0000803e0000020010006461746104000000',
    );
  });

  it('reads μ-law and A-law files', () => {
    expect([...parseWav(lawWav(7, [ulawEncode(0), ulawEncode(1000)]))]).toEqual([0, 988]);
    expect([...parseWav(lawWav(6, [alawEncode(0), alawEncode(-1000)]))]).toEqual([8, -1008]);
  });

  it('rejects other rates, stereo and formats with a clear error', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [lawWav(7, [1], { rate: 16000 }), /16000 Hz, need 8000 Hz/],
      [lawWav(7, [1, 2], { channels: 2 }), /2 channels, need mono/],
      [encodeWav(new Int16Array(4), 22050), /22050 Hz/],
      [Buffer.from('not a wav file at all'), /not a RIFF\/WAVE file/],
    ];
    for (const [buf, re] of cases) {
      let err: unknown;
      try {
        parseWav(buf, 'x.wav');
      } catch (e) {
        err = e;
      }
      expect(isAppError(err, 'invalid_input')).toBe(true);
      expect((err as Error).message).toMatch(re);
    }
    const float = encodeWav(new Int16Array(2));
    float.writeUInt16LE(3, 20);
    expect(() => parseWav(float)).toThrow(/format 3 not supported/);
  });
});
