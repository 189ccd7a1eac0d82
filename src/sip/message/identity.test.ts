import { describe, expect, it } from 'vitest';
import {
  assertedIdentity,
  diversion,
  isAnonymousUser,
  privacyId,
  privacyValues,
  readCallerIdentity,
} from './identity.ts';
import { parseNameAddr } from './headers.ts';
import { withHeaders } from './testing.ts';

const req = withHeaders;

describe('caller identity (RFC 3325, RFC 3323, Remote-Party-ID)', () => {
  it('plain From: the From user and display name, not private', () => {
    expect(readCallerIdentity(req(['From', '"Ivan" <sip:+79161234567@10.0.0.1>;tag=a']))).toEqual({
      user: '+79161234567',
      displayName: 'Ivan',
      source: 'from',
      private: false,
    });
  });

  it('P-Asserted-Identity wins over an anonymous From, and the caller stays private', () => {
    const id = readCallerIdentity(
      req(
        ['From', '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=x'],
        ['P-Asserted-Identity', '<sip:84951234567@carrier.example>'],
      ),
    );
    expect(id).toMatchObject({ user: '84951234567', source: 'p-asserted-identity', private: true });
  });

  it('PAI as a sip and a tel URI on one line, or on two lines; an anonymous PAI is skipped', () => {
    expect(
      readCallerIdentity(
        req(
          ['f', '<sip:+79001112233@h>;tag=1'],
          ['P-Asserted-Identity', '"Anon" <sip:anonymous@anonymous.invalid>, <tel:+74957654321>'],
        ),
      ),
    ).toMatchObject({ user: '+74957654321', source: 'p-asserted-identity', private: false });
    expect(
      readCallerIdentity(
        req(
          ['From', '<sip:+79001112233@h>;tag=1'],
          ['P-Asserted-Identity', '<tel:+74957654321;phone-context=x>'],
          ['P-Asserted-Identity', '<sip:+74950000000@h>'],
        ),
      ).user,
    ).toBe('+74957654321');
  });

  it('Privacy: id (any case, with other values) makes the caller private', () => {
    const r = req(
      ['From', '<sip:+79161234567@h>;tag=1'],
      ['Privacy', 'Header; ID'],
      ['P-Asserted-Identity', '<sip:+79161234567@h>'],
    );
    expect(privacyValues(r)).toEqual(['header', 'id']);
    expect(readCallerIdentity(r)).toMatchObject({ user: '+79161234567', private: true });
    expect(readCallerIdentity(req(['From', '<sip:1@h>;tag=1'], ['Privacy', 'none'])).private).toBe(false);
    expect(readCallerIdentity(req(['From', '<sip:1@h>;tag=1'], ['Privacy', 'user'])).private).toBe(true);
  });

  it('Remote-Party-ID when there is no PAI; its privacy=full hides the caller', () => {
    expect(
      readCallerIdentity(
        req(
          ['From', '<sip:anonymous@anonymous.invalid>;tag=1'],
          ['Remote-Party-ID', '"Petr" <sip:+79035556677@gw>;party=calling;screen=yes;privacy=full'],
        ),
      ),
    ).toEqual({ user: '+79035556677', displayName: 'Petr', source: 'remote-party-id', private: true });
    expect(
      readCallerIdentity(
        req(['From', '<sip:+7903@h>;tag=1'], ['Remote-Party-ID', '<sip:+79035556677@gw>;privacy=off']),
      ),
    ).toMatchObject({ user: '+79035556677', private: false });
  });

  it('an anonymous From with nothing asserted: no number, private', () => {
    expect(readCallerIdentity(req(['From', '"Anonymous" <sip:anonymous@anonymous.invalid>;tag=1']))).toEqual({
      user: '',
      displayName: 'Anonymous',
      source: 'from',
      private: true,
    });
    expect(isAnonymousUser('Anonymous')).toBe(true);
    expect(isAnonymousUser('')).toBe(true);
    expect(isAnonymousUser('+7916')).toBe(false);
  });

  it('garbage identity headers are ignored, not thrown on', () => {
    expect(
      readCallerIdentity(
        req(
          ['From', '<sip:+79161234567@h>;tag=1'],
          ['P-Asserted-Identity', '<<<'],
          ['Remote-Party-ID', 'x y <'],
        ),
      ),
    ).toMatchObject({ user: '+79161234567', source: 'from' });
    expect(readCallerIdentity(req()).user).toBe('');
  });
});

describe('identity headers we write', () => {
  it('P-Asserted-Identity and Diversion (RFC 5806) parse back as name-addrs naming the hotline', () => {
    const pai = assertedIdentity('+74950000001', '127.0.0.1');
    expect(pai).toEqual({ name: 'P-Asserted-Identity', value: '<sip:+74950000001@127.0.0.1>' });
    const div = diversion('+74950000001', 'sip.example');
    expect(div.name).toBe('Diversion');
    expect(div.value).toBe('<sip:+74950000001@sip.example>;reason=unconditional;counter=1');
    const na = parseNameAddr(div.value);
    expect(na?.uri.user).toBe('+74950000001');
    expect(na?.params.get('reason')).toBe('unconditional');
    expect(na?.params.get('counter')).toBe('1');
    expect(diversion('1', '[::1]', 'no-answer').value).toBe('<sip:1@[::1]>;reason=no-answer;counter=1');
    expect(privacyId()).toEqual({ name: 'Privacy', value: 'id' });
  });
});
