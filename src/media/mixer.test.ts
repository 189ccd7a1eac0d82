import { describe, expect, it } from 'vitest';
import { encodeFrame, ulawDecode } from './codec/g711.ts';
import { FRAME_SIZE } from './frame-source.ts';
import { HEARS, MIX_PARTIES, MONITOR_MODES, Mixer, needsMix, type MixParty } from './mixer.ts';

/** 20 ms of one constant level, as PCMU. */
function frameOf(level: number): Buffer {
  const out = Buffer.alloc(FRAME_SIZE);
  encodeFrame('PCMU', new Int16Array(FRAME_SIZE).fill(level), out, 0);
  return out;
}
/** The level PCMU really carries for `level` (G.711 quantises). */
const q = (level: number): number => ulawDecode(frameOf(level)[0]!);

function rig(mode: 'listen' | 'whisper' | 'barge') {
  let frame = 0;
  const mixer = new Mixer(() => frame, mode);
  const out = new Int16Array(FRAME_SIZE);
  return {
    mixer,
    tick: () => frame++,
    heard: (party: MixParty): number => {
      mixer.mixFor(party, out);
      return out[0]!;
    },
  };
}

describe('mixer', () => {
  it('nobody hears themselves; the supervisor hears both parties in every mode', () => {
    for (const mode of MONITOR_MODES)
      for (const p of MIX_PARTIES) {
        expect(HEARS[mode][p]).not.toContain(p);
        expect(HEARS[mode].supervisor).toEqual(['customer', 'agent']);
      }
    expect(MIX_PARTIES.filter((p) => needsMix('listen', p))).toEqual(['supervisor']);
    expect(MIX_PARTIES.filter((p) => needsMix('whisper', p))).toEqual(['agent', 'supervisor']);
    expect(MIX_PARTIES.filter((p) => needsMix('barge', p))).toEqual(['customer', 'agent', 'supervisor']);
  });

  it('sums the frames of those a party hears, decoded from G.711', () => {
    const r = rig('barge');
    r.mixer.push('customer', frameOf(1000), 'PCMU');
    r.mixer.push('agent', frameOf(2000), 'PCMU');
    r.mixer.push('supervisor', frameOf(-500), 'PCMU');
    r.tick();
    expect(r.heard('supervisor')).toBe(q(1000) + q(2000));
    expect(r.heard('agent')).toBe(q(1000) + q(-500));
    expect(r.heard('customer')).toBe(q(2000) + q(-500));
  });

  it('the mode says who hears the supervisor: listen nobody, whisper the agent, barge both', () => {
    const r = rig('listen');
    const feed = (): void => {
      r.mixer.push('customer', frameOf(1000), 'PCMU');
      r.mixer.push('agent', frameOf(2000), 'PCMU');
      r.mixer.push('supervisor', frameOf(4000), 'PCMU');
      r.tick();
    };
    feed();
    expect([r.heard('customer'), r.heard('agent')]).toEqual([q(2000), q(1000)]);
    r.mixer.mode = 'whisper';
    feed();
    expect([r.heard('customer'), r.heard('agent')]).toEqual([q(2000), q(1000) + q(4000)]);
    r.mixer.mode = 'barge';
    feed();
    expect([r.heard('customer'), r.heard('agent')]).toEqual([q(2000) + q(4000), q(1000) + q(4000)]);
  });

  it('clips the sum to 16 bits instead of wrapping', () => {
    const r = rig('listen');
    r.mixer.push('customer', frameOf(30000), 'PCMU');
    r.mixer.push('agent', frameOf(30000), 'PCMU');
    r.tick();
    expect(r.heard('supervisor')).toBe(32767);
    r.mixer.push('customer', frameOf(-30000), 'PCMU');
    r.mixer.push('agent', frameOf(-30000), 'PCMU');
    r.tick();
    expect(r.heard('supervisor')).toBe(-32768);
  });

  it('each queue gives one frame per tick, however many outputs read it', () => {
    const r = rig('barge');
    r.mixer.push('customer', frameOf(1000), 'PCMU');
    r.mixer.push('customer', frameOf(3000), 'PCMU');
    r.tick();
    expect(r.heard('supervisor')).toBe(q(1000));
    expect(r.heard('agent')).toBe(q(1000));
    r.tick();
    expect(r.heard('agent')).toBe(q(3000));
    r.tick();
    expect(r.heard('supervisor')).toBe(0); // nothing left: silence, not the last frame again
  });

  it('bounds the delay: a party far ahead loses its oldest audio', () => {
    const r = rig('listen');
    for (let i = 1; i <= 10; i++) r.mixer.push('customer', frameOf(i * 100), 'PCMU');
    r.tick();
    expect(r.heard('supervisor')).toBe(q(800)); // three frames kept: 800, 900, 1000
  });

  it('decodes PCMA and odd payload sizes (30 ms packets)', () => {
    const r = rig('listen');
    const pcma = Buffer.alloc(240);
    encodeFrame('PCMA', new Int16Array(240).fill(1200), pcma, 0);
    r.mixer.push('agent', pcma, 'PCMA');
    r.tick();
    const first = r.heard('supervisor');
    expect(Math.abs(first - 1200)).toBeLessThan(64);
    r.tick();
    expect(r.heard('supervisor')).toBe(0); // 80 samples left: not a whole frame yet
    r.mixer.push('agent', pcma, 'PCMA');
    r.tick();
    expect(r.heard('supervisor')).toBe(first);
  });
});
