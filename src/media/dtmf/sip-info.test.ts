import { describe, expect, it } from 'vitest';
import { parseDtmfInfo, parseDtmfRelay, parseDtmfRelayDuration } from './sip-info.ts';

describe('application/dtmf-relay', () => {
  it('reads the usual body', () => {
    expect(parseDtmfRelay('Signal=5\r\nDuration=160\r\n')).toBe('5');
    expect(parseDtmfRelayDuration('Signal=5\r\nDuration=160\r\n')).toBe(160);
  });
  it('accepts spacing and case variants', () => {
    expect(parseDtmfRelay('Signal= *\r\nDuration= 100\r\n')).toBe('*');
    expect(parseDtmfRelay('signal = #\nduration=250')).toBe('#');
    expect(parseDtmfRelay('Signal=a\r\n')).toBe('A');
  });
  it('maps event numbers 10-15', () => {
    expect(parseDtmfRelay('Signal=10\r\nDuration=160')).toBe('*');
    expect(parseDtmfRelay('Signal=11\r\nDuration=160')).toBe('#');
    expect(parseDtmfRelay('Signal=15')).toBe('D');
  });
  it('returns undefined when there is no digit', () => {
    expect(parseDtmfRelay('Duration=160')).toBeUndefined();
    expect(parseDtmfRelay('Signal=16')).toBeUndefined();
    expect(parseDtmfRelay('Signal=')).toBeUndefined();
    expect(parseDtmfRelay('')).toBeUndefined();
  });
});

describe('parseDtmfInfo', () => {
  it('dispatches on the content type', () => {
    expect(parseDtmfInfo('application/dtmf-relay', 'Signal=7\r\nDuration=160')).toBe('7');
    expect(parseDtmfInfo('Application/DTMF-Relay; charset=utf-8', 'Signal=7')).toBe('7');
    expect(parseDtmfInfo('application/dtmf', '5')).toBe('5');
    expect(parseDtmfInfo('application/dtmf', ' 11\r\n')).toBe('#');
    expect(parseDtmfInfo('application/sdp', 'v=0')).toBeUndefined();
  });
});
