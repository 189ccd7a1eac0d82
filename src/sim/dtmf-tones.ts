import type { FrameSource } from '../media/player.ts';
import { DTMF_COLS, DTMF_ROWS } from '../media/dtmf/inband.ts';

const KEYS = ['123A', '456B', '789C', '*0#D'];

export interface DtmfToneOptions {
  /** Tone length per key, ms (default 80). */
  toneMs?: number;
  /** Silence after each key, ms (default 80). */
  gapMs?: number;
  /** Level of each of the two frequencies, dBm0 (default −10). */
  levelDbm0?: number;
}

/** The two Q.23 frequencies of a key. */
export function dtmfFrequencies(key: string): [number, number] {
  for (let r = 0; r < 4; r++) {
    const c = KEYS[r]!.indexOf(key.toUpperCase());
    if (c >= 0) return [DTMF_ROWS[r]!, DTMF_COLS[c]!];
  }
  throw new Error(`not a DTMF key: ${JSON.stringify(key)}`);
}

/**
 * Keys as dual tones in the audio, the way an old phone or a PSTN path sends them
 * (no telephone-event): tone, gap, tone, gap… then the source ends.
 */
export class DtmfToneSource implements FrameSource {
  private readonly samples: Int16Array;
  private pos = 0;

  constructor(digits: string, o: DtmfToneOptions = {}) {
    const tone = Math.round((o.toneMs ?? 80) * 8);
    const gap = Math.round((o.gapMs ?? 80) * 8);
    const a = 22657 * Math.pow(10, (o.levelDbm0 ?? -10) / 20);
    this.samples = new Int16Array(digits.length * (tone + gap));
    let i = 0;
    for (const d of digits) {
      const [fr, fc] = dtmfFrequencies(d);
      for (let n = 0; n < tone; n++) {
        const t = (2 * Math.PI * n) / 8000;
        this.samples[i++] = Math.round(a * (Math.sin(fr * t) + Math.sin(fc * t)));
      }
      i += gap;
    }
  }

  read(out: Int16Array): boolean {
    if (this.pos >= this.samples.length) return false;
    out.fill(0);
    const n = Math.min(out.length, this.samples.length - this.pos);
    out.set(this.samples.subarray(this.pos, this.pos + n));
    this.pos += n;
    return true;
  }
}
