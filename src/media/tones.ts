/**
 * Call-progress tones and beeps as FrameSources. Every tone's whole cadence is computed
 * once (lazily, shared by all calls) into an Int16Array; playing it copies samples, no
 * Math.sin at runtime.
 *
 * | tone        | frequency | cadence                                   | ends?          |
 * |-------------|-----------|-------------------------------------------|----------------|
 * | `ringback`  | 425 Hz    | 1 s on, 4 s off                           | loops          |
 * | `busy`      | 425 Hz    | 0.35 s on, 0.35 s off                     | loops          |
 * | `accept`    | 1000 Hz   | 150 ms on                                 | after 150 ms   |
 * | `error`     | 480 Hz    | 3 × (80 ms on, 80 ms off)                 | after 480 ms   |
 * | silence     | —         | `new SilenceSource(ms?)`                  | after ms / never |
 *
 * Level: peak 6000 (≈ −15 dBFS, ≈ −18 dBm0), 2 ms linear ramps at each burst edge to
 * avoid clicks. 425 Hz is the ITU-T E.180 / CEPT (and Russian) ringback/busy frequency.
 */

import { FRAME_SIZE, type FrameSource } from './frame-source.ts';

export type ToneName = 'ringback' | 'busy' | 'accept' | 'error';

export interface ToneSegment {
  /** Frequencies mixed in this segment; empty = silence. */
  freqs: readonly number[];
  ms: number;
}

export interface ToneSpec {
  segments: readonly ToneSegment[];
  loop: boolean;
}

export const TONES: Readonly<Record<ToneName, ToneSpec>> = {
  ringback: {
    loop: true,
    segments: [
      { freqs: [425], ms: 1000 },
      { freqs: [], ms: 4000 },
    ],
  },
  busy: {
    loop: true,
    segments: [
      { freqs: [425], ms: 350 },
      { freqs: [], ms: 350 },
    ],
  },
  accept: { loop: false, segments: [{ freqs: [1000], ms: 150 }] },
  error: {
    loop: false,
    segments: [
      { freqs: [480], ms: 80 },
      { freqs: [], ms: 80 },
      { freqs: [480], ms: 80 },
      { freqs: [], ms: 80 },
      { freqs: [480], ms: 80 },
      { freqs: [], ms: 80 },
    ],
  },
};

const PEAK = 6000;
const RAMP = 16; // samples (2 ms)

/** Renders a cadence into samples (8 kHz). */
export function renderTone(spec: ToneSpec, sampleRate = 8000): Int16Array {
  const total = spec.segments.reduce((n, s) => n + Math.round((s.ms * sampleRate) / 1000), 0);
  const out = new Int16Array(total);
  let pos = 0;
  for (const seg of spec.segments) {
    const n = Math.round((seg.ms * sampleRate) / 1000);
    if (seg.freqs.length > 0) {
      const amp = PEAK / seg.freqs.length;
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (const f of seg.freqs) v += Math.sin((2 * Math.PI * f * i) / sampleRate);
        const ramp = Math.min(1, (i + 1) / RAMP, (n - i) / RAMP);
        out[pos + i] = Math.round(amp * v * ramp);
      }
    }
    pos += n;
  }
  return out;
}

const rendered = new Map<ToneName, Int16Array>();

/** The shared rendering of a named tone. */
export function toneSamples(name: ToneName): Int16Array {
  let s = rendered.get(name);
  if (!s) {
    s = renderTone(TONES[name]);
    rendered.set(name, s);
  }
  return s;
}

/**
 * Plays a sample buffer once or in a loop, 160 samples per read; a last partial frame
 * is padded with silence. The buffer is shared, never written.
 */
export class SampleSource implements FrameSource {
  private pos = 0;
  private stopped = false;

  constructor(
    private readonly samples: Int16Array,
    private readonly loop: boolean,
  ) {}

  read(out: Int16Array): boolean {
    const src = this.samples;
    const len = src.length;
    if (this.stopped || len === 0 || (!this.loop && this.pos >= len)) return false;
    let filled = 0;
    while (filled < FRAME_SIZE) {
      if (this.pos >= len) {
        if (!this.loop) {
          out.fill(0, filled, FRAME_SIZE);
          break;
        }
        this.pos = 0;
      }
      const n = Math.min(FRAME_SIZE - filled, len - this.pos);
      out.set(src.subarray(this.pos, this.pos + n), filled);
      this.pos += n;
      filled += n;
    }
    return true;
  }

  /** The next read returns false. */
  stop(): void {
    this.stopped = true;
  }

  /** Back to the beginning. */
  rewind(): void {
    this.pos = 0;
    this.stopped = false;
  }
}

/** Tone names accepted by `toneSource`. */
export type ToneKind = ToneName;

/** A new player for a named tone. */
export function toneSource(kind: ToneKind): ToneSource {
  return new ToneSource(kind);
}

/** A named tone (see table above). */
export class ToneSource extends SampleSource {
  readonly name: ToneName;
  constructor(name: ToneName) {
    super(toneSamples(name), TONES[name].loop);
    this.name = name;
  }
}

/** Silence for `ms` (whole frames, rounded up), or forever when omitted. */
export class SilenceSource implements FrameSource {
  private framesLeft: number;
  constructor(ms?: number) {
    this.framesLeft = ms === undefined ? Infinity : Math.ceil(ms / 20);
  }
  read(out: Int16Array): boolean {
    if (this.framesLeft <= 0) return false;
    this.framesLeft--;
    out.fill(0);
    return true;
  }
}
