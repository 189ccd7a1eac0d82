/**
 * What an agent keys in for a transfer or an announcement is digits only (a
 * phone keypad has no '+'). Normalises it to the form the allowed-destination
 * patterns and the trunk use: 8XXXXXXXXXX (Russian trunk prefix) and
 * 7XXXXXXXXXX become +7XXXXXXXXXX; a 00 international prefix becomes '+';
 * anything shorter is left as dialled (a short number).
 */
export function normaliseDialled(digits: string): string {
  if (/^8\d{10}$/.test(digits)) return `+7${digits.slice(1)}`;
  if (/^7\d{10}$/.test(digits)) return `+${digits}`;
  if (/^00\d{6,15}$/.test(digits)) return `+${digits.slice(2)}`;
  return digits;
}
