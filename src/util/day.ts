/**
 * The wall-clock ms at which the day holding `at` began in `timeZone` (IANA): the start
 * of "today" for a company's figures. Without a date library: the zone's offset is read
 * from Intl, then read again at the candidate midnight, so a day whose offset changed
 * since midnight (a DST switch) still starts at its own 00:00.
 */
export function startOfDay(at: number, timeZone: string): number {
  const p = wallParts(at, timeZone);
  const midnightAsUtc = Date.UTC(p.year, p.month - 1, p.day);
  let start = midnightAsUtc - offsetOf(at, timeZone);
  start = midnightAsUtc - offsetOf(start, timeZone);
  return start;
}

/** How far `timeZone`'s wall clock is ahead of UTC at `at`, in ms. */
function offsetOf(at: number, timeZone: string): number {
  const p = wallParts(at, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - (at - (((at % 1000) + 1000) % 1000));
}

function wallParts(at: number, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(at);
  const n = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((x) => x.type === type)?.value ?? 0);
  return {
    year: n('year'),
    month: n('month'),
    day: n('day'),
    hour: n('hour'),
    minute: n('minute'),
    second: n('second'),
  };
}
