import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('config: diagnostics', () => {
  it('is unset by default (then it follows --demo)', () => {
    expect(loadConfig([], {}).diagnostics).toBeUndefined();
  });

  it('--diagnostics turns it on; AGENTLINE_DIAGNOSTICS takes true/false, 1/0, yes/no, on/off', () => {
    expect(loadConfig(['--diagnostics'], {}).diagnostics).toBe(true);
    for (const v of ['true', '1', 'yes', 'on'])
      expect(loadConfig([], { AGENTLINE_DIAGNOSTICS: v }).diagnostics).toBe(true);
    for (const v of ['false', '0', 'no', 'off'])
      expect(loadConfig([], { AGENTLINE_DIAGNOSTICS: v }).diagnostics).toBe(false);
    expect(loadConfig(['--diagnostics'], { AGENTLINE_DIAGNOSTICS: 'false' }).diagnostics).toBe(true);
  });

  it('rejects anything else with a clear message', () => {
    expect(() => loadConfig([], { AGENTLINE_DIAGNOSTICS: 'maybe' })).toThrow(/--diagnostics/);
    expect(() => loadConfig(['--diagnostics=yes'], {})).toThrow();
  });
});
