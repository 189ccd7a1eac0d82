import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('--inband-dtmf', () => {
  it('defaults to auto, takes always/off from the flag or AGENTLINE_INBAND_DTMF, refuses others', () => {
    expect(loadConfig([], {}).inbandDtmf).toBe('auto');
    expect(loadConfig(['--inband-dtmf', 'always'], {}).inbandDtmf).toBe('always');
    expect(loadConfig([], { AGENTLINE_INBAND_DTMF: 'off' }).inbandDtmf).toBe('off');
    expect(() => loadConfig(['--inband-dtmf', 'on'], {})).toThrow(ConfigError);
  });
});
