import type { Codec } from '../codec/g711.ts';
import { alawDecode, ulawDecode } from '../codec/g711.ts';

/**
 * Inband DTMF detection (ITU-T Q.23 frequencies, Q.24 acceptance checks) on 8 kHz PCM,
 * for phones whose keys reach us only as tones in the audio (no telephone-event in SDP).
 *
 * Every 10 ms (80 samples, one hop) each of the 8 DTMF frequencies is measured with a
 * Goertzel filter over the most recent N_f samples, N_f = 80000 / f (115 samples at
 * 697 Hz, 49 at 1633 Hz): the window shrinks with the frequency so that a tone ±5 % off
 * lands on the filter's first null and the ±1.5 % / ±3.5 % deviation limits fall at the
 * same place on every filter. The 10 % spacing of the Q.23 frequencies puts each
 * neighbour on that null too. A hop is a hit for a digit when all of these hold:
 *
 * - energy: the strongest row and column each at least `minLevelDbm0` (default −30);
 * - purity: the two tones together carry ≥ 75 % of the signal's power (speech and music
 *   spread theirs over many frequencies);
 * - the strongest of each group is ≥ 6 dB above the others of its group;
 * - twist: the column tone at most 8 dB above the row tone (normal twist) and at most
 *   4 dB below it (reverse twist);
 * - frequency deviation: each tone measures more at its nominal frequency than at ±5 %
 *   of it with the same window — true exactly when it is within ±2.5 % (the filter's
 *   main lobe is symmetric), half-way between Q.24's must-detect ±1.5 % and
 *   must-reject ±3.5 %;
 * - second harmonic (speech has them, DTMF does not): 2·f of the column tone ≥ 12 dB
 *   below it; 2·f of the row tone below it (leniently: 2·697 = 1394 Hz sits between
 *   two column tones, and a 200-sample window keeps their leakage out).
 *
 * Duration and gap: a digit is reported after 2 consecutive hits (a 40 ms tone always
 * gives at least 2 hops whose longest window lies wholly in the tone) and held until
 * 2 consecutive hops miss it (≥ 20 ms of no tone; a 40 ms gap gives at least 2), so a
 * repeat of the same key needs a real gap; a different key can follow at once.
 * Measured (synthetic keys, 10 sample offsets): 40 ms and longer always taken; shorter
 * ones too often for the strictest Q.24 administrations (20 ms 5/10, 23 ms 8/10). Three
 * hits would reject those but then lose some 40 ms keys at ±1.5 %: left as it is.
 *
 * Cost: a 115-sample energy sum per 10 ms; when that is loud enough, 8 Goertzel loops
 * of 49-115 samples, plus 6 more only when the level, twist and purity checks pass; no
 * allocation per packet. bench/inband-dtmf.ts: about 100 µs of CPU per leg-second on
 * speech and music, 36 µs on silence (0.01 % of a core per leg).
 */

export const DTMF_ROWS = [697, 770, 852, 941] as const;
export const DTMF_COLS = [1209, 1336, 1477, 1633] as const;
const KEYS = ['123A', '456B', '789C', '*0#D'] as const;

const RATE = 8000;
const HOP = 80;
const BUF = 200;
/** Mean power (16-bit linear units squared) of a 0 dBm0 sine: peak 22657 (G.711 digital milliwatt). */
const DBM0_POWER = (22657 * 22657) / 2;

export interface InbandDtmfOptions {
  /** Weakest tone accepted, per frequency (default −30 dBm0). */
  minLevelDbm0?: number;
  /** Column tone may exceed the row tone by this much (default 8 dB). */
  normalTwistDb?: number;
  /** Row tone may exceed the column tone by this much (default 4 dB). */
  reverseTwistDb?: number;
}

interface Filter {
  n: number;
  coeff: number;
}

function filter(freq: number, n: number): Filter {
  return { n, coeff: 2 * Math.cos((2 * Math.PI * freq) / RATE) };
}

function windowFor(freq: number): number {
  return Math.min(BUF, Math.round(80000 / freq));
}

const dbToRatio = (db: number): number => Math.pow(10, db / 10);

export class InbandDtmfDetector {
  /** Each key once, when it has lasted long enough. */
  onDigit: ((digit: string) => void) | null = null;
  /** Digits reported so far (for stats). */
  digits = 0;

  private readonly buf = new Float64Array(BUF);
  /** Samples since the last hop. */
  private fill = 0;
  private readonly rows: Filter[] = DTMF_ROWS.map((f) => filter(f, windowFor(f)));
  private readonly cols: Filter[] = DTMF_COLS.map((f) => filter(f, windowFor(f)));
  private readonly rowSides: [Filter, Filter][] = DTMF_ROWS.map((f) => [
    filter(f * 0.95, windowFor(f)),
    filter(f * 1.05, windowFor(f)),
  ]);
  private readonly colSides: [Filter, Filter][] = DTMF_COLS.map((f) => [
    filter(f * 0.95, windowFor(f)),
    filter(f * 1.05, windowFor(f)),
  ]);
  private readonly rowHarm: Filter[] = DTMF_ROWS.map((f) => filter(2 * f, BUF));
  private readonly colHarm: Filter[] = DTMF_COLS.map((f) => filter(2 * f, windowFor(2 * f)));
  private readonly rowPow = new Float64Array(4);
  private readonly colPow = new Float64Array(4);
  private readonly minPower: number;
  private readonly normalTwist: number;
  private readonly reverseTwist: number;

  /** Candidate seen on the last hop(s), and for how many hops in a row. */
  private candidate = '';
  private hits = 0;
  /** The key being held down (reported), '' when none; misses since it was last seen. */
  private current = '';
  private misses = 0;

  constructor(opts: InbandDtmfOptions = {}) {
    this.minPower = DBM0_POWER * dbToRatio(opts.minLevelDbm0 ?? -30);
    this.normalTwist = dbToRatio(opts.normalTwistDb ?? 8);
    this.reverseTwist = dbToRatio(opts.reverseTwistDb ?? 4);
  }

  /** Feeds one G.711 payload (any length). */
  feedPayload(payload: Uint8Array, codec: Codec): void {
    const decode = codec === 'PCMU' ? ulawDecode : alawDecode;
    for (let i = 0; i < payload.length; i++) this.push(decode(payload[i]!));
  }

  /** Feeds 16-bit linear samples. */
  feedSamples(samples: ArrayLike<number>): void {
    for (let i = 0; i < samples.length; i++) this.push(samples[i]!);
  }

  /** Forgets any tone in progress (e.g. the stream was restarted). */
  reset(): void {
    this.buf.fill(0);
    this.fill = 0;
    this.candidate = '';
    this.hits = 0;
    this.current = '';
    this.misses = 0;
  }

  private push(sample: number): void {
    // The newest BUF samples, oldest first; the shift happens once per hop.
    this.buf[BUF - HOP + this.fill] = sample;
    if (++this.fill === HOP) {
      this.hop(this.classify());
      this.buf.copyWithin(0, HOP);
      this.fill = 0;
    }
  }

  /** Mean power of the tone at the filter's frequency in the last n samples. */
  private power(f: Filter): number {
    const buf = this.buf;
    const c = f.coeff;
    let s1 = 0;
    let s2 = 0;
    for (let i = BUF - f.n; i < BUF; i++) {
      const s = buf[i]! + c * s1 - s2;
      s2 = s1;
      s1 = s;
    }
    const mag2 = s1 * s1 + s2 * s2 - c * s1 * s2;
    // Amplitude 2|X|/N, mean power A²/2.
    return (2 * mag2) / (f.n * f.n);
  }

  private classify(): string {
    // Quiet (silence, pauses between words): two tones at the minimum level could not be
    // in it, so the 8 filters are skipped. Measured over the longest window.
    const longest = this.rows[0]!.n;
    let quick = 0;
    for (let i = BUF - longest; i < BUF; i++) quick += this.buf[i]! * this.buf[i]!;
    if (quick / longest < 1.5 * this.minPower) return '';
    let r = 0;
    let c = 0;
    for (let i = 0; i < 4; i++) {
      this.rowPow[i] = this.power(this.rows[i]!);
      this.colPow[i] = this.power(this.cols[i]!);
      if (this.rowPow[i]! > this.rowPow[r]!) r = i;
      if (this.colPow[i]! > this.colPow[c]!) c = i;
    }
    const pr = this.rowPow[r]!;
    const pc = this.colPow[c]!;
    if (pr < this.minPower || pc < this.minPower) return '';
    if (pc > pr * this.normalTwist || pr > pc * this.reverseTwist) return '';
    // Total power over the row window (the longer of the two).
    const n = this.rows[r]!.n;
    let total = 0;
    for (let i = BUF - n; i < BUF; i++) total += this.buf[i]! * this.buf[i]!;
    total /= n;
    if (pr + pc < 0.75 * total) return '';
    for (let i = 0; i < 4; i++) {
      if (i !== r && this.rowPow[i]! * 4 > pr) return '';
      if (i !== c && this.colPow[i]! * 4 > pc) return '';
    }
    const [rLo, rHi] = this.rowSides[r]!;
    const [cLo, cHi] = this.colSides[c]!;
    if (this.power(rLo) > pr || this.power(rHi) > pr) return '';
    if (this.power(cLo) > pc || this.power(cHi) > pc) return '';
    if (this.power(this.rowHarm[r]!) > pr) return '';
    if (this.power(this.colHarm[c]!) * 16 > pc) return '';
    return KEYS[r]![c]!;
  }

  private hop(key: string): void {
    if (key !== '' && key === this.candidate) this.hits++;
    else {
      this.candidate = key;
      this.hits = key === '' ? 0 : 1;
    }
    if (this.current !== '') {
      if (key === this.current) {
        this.misses = 0;
        return;
      }
      // A different key confirmed: it replaces the one held without a gap.
      if (this.hits < 2 && ++this.misses < 2) return;
      if (this.hits < 2) {
        this.current = '';
        return;
      }
    }
    if (this.hits >= 2) {
      this.current = key;
      this.misses = 0;
      this.digits++;
      this.onDigit?.(key);
    }
  }
}
