/**
 * Call recording: a stereo G.711 WAV of one session, written as the call runs.
 *
 * The recorder is a member of the session's 20 ms MediaClock: on every tick it writes one
 * frame (160 samples) per channel, interleaved — left what the session received (the
 * customer), right what it sent (whoever the customer hears: an agent, a colleague after a
 * transfer, music). Packets do not arrive on the tick, so each side goes through a small
 * queue; a side with nothing queued gets silence on that tick, so both channels stay on one
 * timeline whatever either peer sends (or stops sending). Each side is transcoded to the
 * file's codec (the session's at the start) when its packets carry the other G.711 law.
 *
 * The file is written in one-second chunks (the media thread never waits on the disk) and
 * its header sizes are filled in on `stop()`.
 */

import { open, type FileHandle } from 'node:fs/promises';
import { FRAME_SAMPLES, transcodeInto, type Codec } from './codec/g711.ts';
import type { MediaClock, Tickable } from './media-clock.ts';

/** What a finished recording is. */
export interface RecordingResult {
  file: string;
  /** Audio length (frames written × 20 ms). */
  durationMs: number;
  /** File size, header included. */
  bytes: number;
}

const FORMAT_ALAW = 6;
const FORMAT_ULAW = 7;
const CHANNELS = 2;
const RATE = 8000;
/** RIFF + fmt (18 bytes, cbSize 0) + fact + data headers: non-PCM WAV wants the fact chunk. */
export const G711_WAV_HEADER_BYTES = 12 + 8 + 18 + 8 + 4 + 8;
/** Frames queued per side before the oldest is dropped (a peer sending in bursts). */
const MAX_QUEUED_FRAMES = 8;
/** Frames per write (one second). */
const FRAMES_PER_WRITE = 50;

const silenceByte = (codec: Codec): number => (codec === 'PCMA' ? 0xd5 : 0xff);

/** The header of a G.711 WAV of `samples` samples per channel (sizes are what stop() fixes). */
export function g711WavHeader(codec: Codec, channels: number, samples: number): Buffer {
  const dataLen = samples * channels;
  const h = Buffer.alloc(G711_WAV_HEADER_BYTES);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(G711_WAV_HEADER_BYTES - 8 + dataLen, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(18, 16);
  h.writeUInt16LE(codec === 'PCMA' ? FORMAT_ALAW : FORMAT_ULAW, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * channels, 28);
  h.writeUInt16LE(channels, 32); // block align: one byte per sample per channel
  h.writeUInt16LE(8, 34);
  h.writeUInt16LE(0, 36);
  h.write('fact', 38, 'latin1');
  h.writeUInt32LE(4, 42);
  h.writeUInt32LE(samples, 46);
  h.write('data', 50, 'latin1');
  h.writeUInt32LE(dataLen, 54);
  return h;
}

/** One side's audio waiting for the next tick, in the file's codec. */
class SideQueue {
  private readonly buf = Buffer.alloc(MAX_QUEUED_FRAMES * FRAME_SAMPLES);
  private len = 0;

  constructor(private readonly codec: Codec) {}

  push(payload: Buffer, codec: Codec): void {
    const n = Math.min(payload.length, this.buf.length);
    const src = payload.length - n;
    const room = this.buf.length - this.len;
    if (n > room) {
      // Too far ahead: drop the oldest so the side stays near the clock.
      const drop = n - room;
      this.buf.copy(this.buf, 0, drop, this.len);
      this.len -= drop;
    }
    transcodeInto(codec, this.codec, payload, src, n, this.buf, this.len);
    this.len += n;
  }

  /** One frame into `out` at `offset`, every other byte (interleaved); silence where short. */
  take(out: Buffer, offset: number): void {
    const n = Math.min(this.len, FRAME_SAMPLES);
    for (let i = 0; i < n; i++) out[offset + 2 * i] = this.buf[i]!;
    const silence = silenceByte(this.codec);
    for (let i = n; i < FRAME_SAMPLES; i++) out[offset + 2 * i] = silence;
    if (n > 0) {
      this.buf.copy(this.buf, 0, n, this.len);
      this.len -= n;
    }
  }
}

/** A stereo recording in progress; `received`/`sent` are fed by the session, `tick` by the clock. */
export class Recorder implements Tickable {
  private readonly left: SideQueue;
  private readonly right: SideQueue;
  private readonly chunk = Buffer.alloc(FRAMES_PER_WRITE * FRAME_SAMPLES * CHANNELS);
  private chunkFrames = 0;
  private frames = 0;
  private position = G711_WAV_HEADER_BYTES;
  private writes: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private stopped: Promise<RecordingResult> | undefined;

  private constructor(
    readonly file: string,
    readonly codec: Codec,
    private readonly fh: FileHandle,
    private readonly clock: MediaClock,
  ) {
    this.left = new SideQueue(codec);
    this.right = new SideQueue(codec);
    clock.add(this);
  }

  /** Creates `file` (replacing none: an existing file is an error) and joins the clock. */
  static async start(opts: { file: string; codec: Codec; clock: MediaClock }): Promise<Recorder> {
    const fh = await open(opts.file, 'wx');
    try {
      await fh.write(g711WavHeader(opts.codec, CHANNELS, 0), 0, G711_WAV_HEADER_BYTES, 0);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new Recorder(opts.file, opts.codec, fh, opts.clock);
  }

  /** Audio the session received (the left channel). */
  received(payload: Buffer, codec: Codec): void {
    if (!this.stopped) this.left.push(payload, codec);
  }

  /** Audio the session sent (the right channel). */
  sent(payload: Buffer, codec: Codec): void {
    if (!this.stopped) this.right.push(payload, codec);
  }

  tick(): void {
    if (this.stopped) return;
    const off = this.chunkFrames * FRAME_SAMPLES * CHANNELS;
    this.left.take(this.chunk, off);
    this.right.take(this.chunk, off + 1);
    this.frames++;
    if (++this.chunkFrames === FRAMES_PER_WRITE) this.flush();
  }

  private flush(): void {
    if (this.chunkFrames === 0) return;
    const data = Buffer.from(this.chunk.subarray(0, this.chunkFrames * FRAME_SAMPLES * CHANNELS));
    const at = this.position;
    this.position += data.length;
    this.chunkFrames = 0;
    this.writes = this.writes.then(async () => {
      if (this.failure) return;
      try {
        await this.fh.write(data, 0, data.length, at);
      } catch (err) {
        this.failure = err as Error;
      }
    });
  }

  /** Leaves the clock, writes what is left and the header's sizes, closes the file. Idempotent. */
  stop(): Promise<RecordingResult> {
    this.stopped ??= this.finish();
    return this.stopped;
  }

  private async finish(): Promise<RecordingResult> {
    this.clock.remove(this);
    this.flush();
    await this.writes;
    try {
      if (this.failure) throw this.failure;
      const samples = this.frames * FRAME_SAMPLES;
      await this.fh.write(g711WavHeader(this.codec, CHANNELS, samples), 0, G711_WAV_HEADER_BYTES, 0);
      return {
        file: this.file,
        durationMs: this.frames * 20,
        bytes: G711_WAV_HEADER_BYTES + samples * CHANNELS,
      };
    } finally {
      await this.fh.close();
    }
  }
}
