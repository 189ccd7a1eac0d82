import { describe, expect, it } from 'vitest';
import { isAppError } from '../util/errors.ts';
import {
  DEFAULT_COMPANY_SETTINGS,
  destinationAllowed,
  mergeCompanySettings,
  parseCompanySettings,
} from './company-settings.ts';

describe('company settings (SPEC §7)', () => {
  it('defaults', () => {
    // SPEC §7's defaults, pinned here apart from the code that declares them.
    expect(parseCompanySettings({})).toMatchInlineSnapshot(`
      {
        "acceptCall": "key",
        "acceptKey": "1",
        "acceptSeconds": 10,
        "allowedDestinations": [
          "agents",
          "+7*",
        ],
        "announceNumber": "stay_until_connected",
        "announceSeconds": 30,
        "breakMinutes": 15,
        "country": "RU",
        "deliverTo": "caller_id",
        "externalTransfer": "release_on_answer",
        "language": "ru",
        "minPinLength": 4,
        "presentedCallerId": "customer",
        "recording": "off",
        "recordingAnnouncement": "on",
        "recordingRetentionDays": 90,
        "ringSeconds": 20,
        "timeZone": "Europe/Moscow",
        "wrapUpSeconds": 0,
      }
    `);
    expect(parseCompanySettings(undefined)).toEqual(DEFAULT_COMPANY_SETTINGS);
  });

  it('merges a valid patch and keeps the rest', () => {
    const s = mergeCompanySettings(DEFAULT_COMPANY_SETTINGS, {
      externalTransfer: 'consult',
      wrapUpSeconds: 10,
    });
    expect(s).toEqual({ ...DEFAULT_COMPANY_SETTINGS, externalTransfer: 'consult', wrapUpSeconds: 10 });
  });

  it.each([
    [{ externalTransfer: 'sometimes' }],
    [{ ringSeconds: 0 }],
    [{ ringSeconds: 2.5 }],
    [{ breakMinutes: -1 }],
    [{ minPinLength: 3 }],
    [{ minPinLength: 9 }],
    [{ language: 'de' }],
    [{ acceptCall: 'always' }],
    [{ acceptKey: '12' }],
    [{ acceptKey: 'a' }],
    [{ acceptKey: '#' }],
    [{ acceptSeconds: 0 }],
    [{ allowedDestinations: ['anything'] }],
    [{ unknownKey: 1 }],
    [{ timeZone: 'Mars/Olympus_Mons' }],
  ])('refuses %j with invalid_input', (patch) => {
    let err: unknown;
    try {
      mergeCompanySettings(DEFAULT_COMPANY_SETTINGS, patch);
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, 'invalid_input')).toBe(true);
  });

  it('matches destinations against patterns', () => {
    const p = ['agents', '+7*', '+44XXXXXXXXXX'];
    expect(destinationAllowed(p, '+79001234567', false)).toBe(true);
    expect(destinationAllowed(p, '+7', false)).toBe(true);
    expect(destinationAllowed(p, '+441234567890', false)).toBe(true);
    expect(destinationAllowed(p, '+4412345678901', false)).toBe(false);
    expect(destinationAllowed(p, '+12125550100', false)).toBe(false);
    expect(destinationAllowed(p, '203', true)).toBe(true);
    expect(destinationAllowed(['+7*'], '203', true)).toBe(false);
    expect(destinationAllowed(['+7*'], '+7900abc', false)).toBe(false);
    expect(destinationAllowed([], '+79001234567', true)).toBe(false);
  });
});
