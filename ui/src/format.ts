/** How figures read on the page: durations, rates, times. */

/** `850 ms`, `12 s`, `4 min`, `3 h`, `2 d`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/** A per-second rate: `0`, `0.25/s`, `12/s`. */
export function rate(perSec: number): string {
  if (perSec === 0) return '0/s';
  return `${perSec < 10 ? perSec.toFixed(2) : Math.round(perSec)}/s`;
}

/** A ratio as a percentage: `0 %`, `4.2 %`. */
export function percent(ratio: number): string {
  return `${ratio === 0 ? 0 : (ratio * 100).toFixed(1)} %`;
}

/** A local date-time of an RFC 3339 string or epoch ms (`—` when absent). */
export function when(time: string | number | undefined): string {
  if (time === undefined) return '—';
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? String(time) : date.toLocaleString();
}

/** `3 s ago` of an epoch ms or RFC 3339 time, against `now`. */
export function ago(time: string | number, now = Date.now()): string {
  return `${duration(Math.max(0, now - new Date(time).getTime()))} ago`;
}

/** A count with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString();
}
