/**
 * Phone numbers in one form everywhere (issue 9): what a trunk presents, what
 * a caller dials and what an agent keys in for a transfer or an announcement
 * (digits only: a keypad has no '+') become E.164 with '+' when they are
 * national or international numbers of the company's country, and stay as
 * they are when short (extensions, short numbers, diagnostics).
 *
 * Russia (the only country plan so far): 8XXXXXXXXXX (trunk prefix) and
 * 7XXXXXXXXXX become +7XXXXXXXXXX, a 00 or 810 international prefix becomes
 * '+'. Spaces, dashes, dots and brackets are dropped.
 */
export type CountryPlan = 'RU';

export function normaliseNumber(number: string, country: CountryPlan = 'RU'): string {
  const n = number.replace(/[\s().-]/g, '');
  if (!/^\+?\d+$/.test(n)) return number;
  if (n.startsWith('+')) return n;
  if (country === 'RU') {
    if (/^8\d{10}$/.test(n)) return `+7${n.slice(1)}`;
    if (/^7\d{10}$/.test(n)) return `+${n}`;
    if (/^810\d{6,15}$/.test(n)) return `+${n.slice(3)}`;
  }
  if (/^00\d{6,15}$/.test(n)) return `+${n.slice(2)}`;
  return n;
}
