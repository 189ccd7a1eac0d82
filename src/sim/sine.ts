import type { FrameSource } from '../media/player.ts';

/** A continuous sine tone for tests (a phone "speaking"). */
export class SineSource implements FrameSource {
  private phase = 0;
  constructor(
    private readonly freq: number,
    private readonly amplitude: number,
    private frames = Infinity,
  ) {}

  read(out: Int16Array): boolean {
    if (this.frames-- <= 0) return false;
    const step = (2 * Math.PI * this.freq) / 8000;
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.round(Math.sin(this.phase) * this.amplitude);
      this.phase += step;
    }
    this.phase %= 2 * Math.PI;
    return true;
  }
}
