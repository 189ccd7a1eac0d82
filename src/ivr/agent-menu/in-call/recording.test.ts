import { describe, expect, it } from 'vitest';
import { rig } from './fake.ts';

describe('*7: the recording key', () => {
  it('toggles the recording and puts the agent back with the customer after an accept beep', async () => {
    const r = rig();
    await r.press('agent', '*');
    const lines = await r.during(() => r.press('agent', '7'));
    expect(lines).toEqual([
      'toggle recording',
      'customer hears silence',
      'agent hears tone:accept',
      'bridge customer+agent',
    ]);
    expect(r.state()).toBe('talking');
    expect(r.script.at(-1)).toBe('bridge customer+agent');
  });

  it('an error beep when recording is off here (or failed), and back to the customer', async () => {
    for (const answer of ['off', 'failed'] as const) {
      const r = rig();
      r.recording = answer;
      await r.press('agent', '*');
      const lines = await r.during(() => r.press('agent', '7'));
      expect(lines).toContain('agent hears tone:error');
      expect(r.state()).toBe('talking');
    }
  });
});
