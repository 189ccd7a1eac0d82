/**
 * Phone numbers in one form everywhere (issue 9): what a trunk presents, what
 * a caller dials and what an agent keys in for a transfer or an announcement
 * (digits only: a keypad has no '+') become E.164 with '+' when they are
 * national or international numbers of the company's country, and stay as
 * they are when short (extensions, short numbers, diagnostics).
 *
 * Each country is a small dial plan: its country code, the national (trunk)
 * prefix dialled before a national number, the international prefixes, and
 * how long a national significant number is. Russia: 8XXXXXXXXXX (trunk
 * prefix) and 7XXXXXXXXXX become +7XXXXXXXXXX, a 00 or 810 international
 * prefix becomes '+'. `E164` knows no national form: only '+' and 00.
 * Spaces, dashes, dots and brackets are dropped.
 */
export interface DialPlan {
  /** E.164 country code, digits only. */
  countryCode: string;
  /** Dialled before a national number (8 in Russia, 0 in Germany); '' when none. */
  nationalPrefix: string;
  /** Dialled before an international number, the usual one first. */
  internationalPrefixes: readonly string[];
  /** Length of a national significant number (after the national prefix). */
  nationalLength: { min: number; max: number };
  /** The country code without '+' and a full national number (7XXXXXXXXXX) is a known form here. */
  bareCountryCode?: boolean;
  /** A national number without the national prefix (US 10 digits) is a known form here. */
  bareNational?: boolean;
}

/** A country's plan: code, national prefix, international prefixes, national number length. */
function plan(
  countryCode: string,
  nationalPrefix: string,
  internationalPrefixes: readonly string[],
  [min, max]: [number, number],
  forms: Pick<DialPlan, 'bareCountryCode' | 'bareNational'> = {},
): DialPlan {
  return { countryCode, nationalPrefix, internationalPrefixes, nationalLength: { min, max }, ...forms };
}

export const DIAL_PLANS = {
  RU: plan('7', '8', ['810', '00'], [10, 10], { bareCountryCode: true }),
  KZ: plan('7', '8', ['810', '00'], [10, 10], { bareCountryCode: true }),
  // Belarus: 8 0XX XXX-XX-XX, the trunk prefix is "8 0".
  BY: plan('375', '80', ['810', '00'], [9, 9]),
  UA: plan('380', '0', ['00'], [9, 9]),
  DE: plan('49', '0', ['00'], [6, 11]),
  GB: plan('44', '0', ['00'], [9, 10]),
  US: plan('1', '1', ['011'], [10, 10], { bareNational: true }),
  E164: plan('', '', ['00'], [0, 0]),
} satisfies Record<string, DialPlan>;

export type Country = keyof typeof DIAL_PLANS;
export const COUNTRIES = Object.keys(DIAL_PLANS) as Country[];

/** E.164 allows at most 15 digits; anything under 6 after a prefix is a short number. */
const INTERNATIONAL = { min: 6, max: 15 };

export function normaliseNumber(number: string, country: Country = 'RU'): string {
  const n = number.replace(/[\s().-]/g, '');
  if (!/^\+?\d+$/.test(n)) return number;
  if (n.startsWith('+')) return n;
  const plan: DialPlan = DIAL_PLANS[country];
  const { min, max } = plan.nationalLength;
  const fits = (rest: string): boolean => rest.length >= min && rest.length <= max && rest[0] !== '0';
  // National first: in Russia 810… could be either, and 8 + ten digits is the national form.
  // No national number starts with 0, so 00… is never taken for 0 + a national number.
  if (plan.nationalPrefix && n.startsWith(plan.nationalPrefix)) {
    const rest = n.slice(plan.nationalPrefix.length);
    if (fits(rest)) return `+${plan.countryCode}${rest}`;
  }
  if (plan.bareCountryCode && n.startsWith(plan.countryCode) && fits(n.slice(plan.countryCode.length)))
    return `+${n}`;
  for (const p of plan.internationalPrefixes) {
    const rest = n.slice(p.length);
    if (n.startsWith(p) && rest.length >= INTERNATIONAL.min && rest.length <= INTERNATIONAL.max)
      return `+${rest}`;
  }
  if (plan.bareNational && fits(n) && n[0] !== plan.nationalPrefix) return `+${plan.countryCode}${n}`;
  return n;
}

/** How a trunk wants numbers written (issue 9): E.164 without or with '+', or as dialled in the country. */
/** The default (`e164_plus`) first. */
export const NUMBER_FORMATS = ['e164_plus', 'e164', 'national'] as const;
export type NumberFormat = (typeof NUMBER_FORMATS)[number];

/**
 * Writes an E.164 number (`+…`) the way a trunk wants it. A number of the
 * country in `national` form gets the national prefix (+79261234567 →
 * 89261234567), a foreign one the usual international prefix (+44… → 81044…).
 * Anything that is not `+digits` (short numbers, SIP users, anonymous) is
 * left alone.
 */
export function formatNumber(number: string, format: NumberFormat, country: Country = 'RU'): string {
  if (!/^\+\d+$/.test(number) || format === 'e164_plus') return number;
  const digits = number.slice(1);
  if (format === 'e164') return digits;
  const plan: DialPlan = DIAL_PLANS[country];
  if (plan.countryCode && digits.startsWith(plan.countryCode)) {
    const rest = digits.slice(plan.countryCode.length);
    if (rest.length >= plan.nationalLength.min && rest.length <= plan.nationalLength.max)
      return `${plan.nationalPrefix}${rest}`;
  }
  return `${plan.internationalPrefixes[0] ?? '00'}${digits}`;
}
