/**
 * Prompt playback: a cache of decoded WAV prompts and FrameSources that play them.
 * Clips are decoded once and shared by every call (Int16Array, never written).
 * Barge-in is the caller's job (setSource(null) on a digit); `ClipPlayer.stop()` ends
 * a player early.
 */

import { FRAME_SIZE, type FrameSource } from './frame-source.ts';
import { SampleSource } from './tones.ts';
import { readWav, readWavFile } from './wav.ts';

export type { FrameSource } from './frame-source.ts';

/** Loads each WAV once by path (sync `get` or async `load`); concurrent loads of one path share one read. */
export class PromptCache {
  private readonly clips = new Map<string, Promise<Int16Array>>();
  private readonly ready = new Map<string, Int16Array>();

  /** The decoded clip (rejects with AppError `invalid_input` for unsupported files). */
  load(path: string): Promise<Int16Array> {
    let p = this.clips.get(path);
    if (!p) {
      p = readWavFile(path).then(
        (clip) => {
          this.ready.set(path, clip);
          return clip;
        },
        (err: unknown) => {
          this.clips.delete(path); // let a later call retry
          throw err;
        },
      );
      this.clips.set(path, p);
    }
    return p;
  }

  /** Loads several; resolves with the clips in order. */
  loadAll(paths: readonly string[]): Promise<Int16Array[]> {
    return Promise.all(paths.map((p) => this.load(p)));
  }

  /**
   * The clip, read synchronously on first use (throws AppError `invalid_input` or the
   * fs error). Meant for start-up preloading; mid-call first loads block the loop
   * briefly — use `load()` there.
   */
  get(path: string): Int16Array {
    let clip = this.ready.get(path);
    if (!clip) {
      clip = readWav(path);
      this.ready.set(path, clip);
      this.clips.set(path, Promise.resolve(clip));
    }
    return clip;
  }

  /** A clip already loaded, else undefined (never reads). */
  peek(path: string): Int16Array | undefined {
    return this.ready.get(path);
  }

  get size(): number {
    return this.ready.size;
  }

  clear(): void {
    this.clips.clear();
    this.ready.clear();
  }
}

export interface ClipPlayerOptions {
  /** Silence between clips (default 0: back to back, even within one frame). */
  gapMs?: number;
}

/** Plays clips back to back (optionally with silence between), then finishes. */
export class ClipPlayer implements FrameSource {
  private clip = 0;
  private pos = 0;
  private gapLeft = 0;
  private stopped = false;
  private readonly gapSamples: number;

  constructor(
    private readonly clips: readonly Int16Array[],
    options: ClipPlayerOptions = {},
  ) {
    this.gapSamples = Math.round(((options.gapMs ?? 0) * 8000) / 1000);
  }

  read(out: Int16Array): boolean {
    if (this.stopped || this.clip >= this.clips.length) return false;
    let filled = 0;
    while (filled < FRAME_SIZE) {
      if (this.gapLeft > 0) {
        const n = Math.min(this.gapLeft, FRAME_SIZE - filled);
        out.fill(0, filled, filled + n);
        filled += n;
        this.gapLeft -= n;
        continue;
      }
      const c = this.clips[this.clip];
      if (c === undefined) {
        out.fill(0, filled, FRAME_SIZE);
        break;
      }
      const n = Math.min(FRAME_SIZE - filled, c.length - this.pos);
      out.set(c.subarray(this.pos, this.pos + n), filled);
      filled += n;
      this.pos += n;
      if (this.pos >= c.length) {
        this.clip++;
        this.pos = 0;
        if (this.clip < this.clips.length) this.gapLeft = this.gapSamples;
      }
    }
    return true;
  }

  /** Ends playback: the next read returns false. */
  stop(): void {
    this.stopped = true;
  }

  /** True once every clip has been read (or stop() was called). */
  get finished(): boolean {
    return this.stopped || this.clip >= this.clips.length;
  }
}

/** Music on hold: loops one clip forever (until stop()). */
export class LoopPlayer extends SampleSource {
  constructor(clip: Int16Array) {
    super(clip, true);
  }
}
