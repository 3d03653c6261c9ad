/** Strict RFC3339 parsing, the one rule for every time field of the contract (`runAt`, `before`...). */

const RFC3339_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Epoch ms of a strict RFC3339 time (`T` separator, zone required), or `undefined` when malformed. */
export function parseRfc3339(value: string): number | undefined {
  const m = RFC3339_RE.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  if (
    month! < 1 ||
    month! > 12 ||
    day! < 1 ||
    day! > daysInMonth ||
    hour! > 23 ||
    minute! > 59 ||
    second! > 60
  ) {
    return undefined;
  }
  const ms = Date.parse(value.toUpperCase());
  return Number.isFinite(ms) ? ms : undefined;
}
