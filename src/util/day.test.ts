import { describe, expect, it } from 'vitest';
import { startOfDay } from './day.ts';

describe('startOfDay', () => {
  it('is local midnight in the zone, not UTC midnight', () => {
    // 01:30 UTC on 2 Dec is 04:30 in Moscow (UTC+3): the day began at 21:00 UTC on 1 Dec.
    expect(new Date(startOfDay(Date.parse('2026-12-02T01:30:00Z'), 'Europe/Moscow')).toISOString()).toBe(
      '2026-12-01T21:00:00.000Z',
    );
    // 22:30 UTC on 1 Dec is 17:30 in New York (UTC-5): its day began at 05:00 UTC.
    expect(new Date(startOfDay(Date.parse('2026-12-01T22:30:00Z'), 'America/New_York')).toISOString()).toBe(
      '2026-12-01T05:00:00.000Z',
    );
    expect(new Date(startOfDay(Date.parse('2026-12-01T00:00:00Z'), 'UTC')).toISOString()).toBe(
      '2026-12-01T00:00:00.000Z',
    );
  });

  it('keeps the day’s own midnight across a DST switch after it', () => {
    // Berlin went from UTC+1 to UTC+2 at 01:00 UTC on 29 March 2026; midnight was still UTC+1.
    expect(new Date(startOfDay(Date.parse('2026-03-29T20:00:00Z'), 'Europe/Berlin')).toISOString()).toBe(
      '2026-03-28T23:00:00.000Z',
    );
    // And back on 25 October 2026: midnight was UTC+2.
    expect(new Date(startOfDay(Date.parse('2026-10-25T20:00:00Z'), 'Europe/Berlin')).toISOString()).toBe(
      '2026-10-24T22:00:00.000Z',
    );
  });
});
