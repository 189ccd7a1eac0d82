import { describe, expect, it } from 'vitest';
import { inbandModeFor } from './inbound.ts';

describe('per-trunk inband DTMF', () => {
  it('auto follows the server, always and off override it', () => {
    expect(inbandModeFor('auto', 'off')).toBe('off');
    expect(inbandModeFor(undefined, 'always')).toBe('always');
    expect(inbandModeFor('always', 'off')).toBe('always');
    expect(inbandModeFor('off', 'always')).toBe('off');
  });
});
