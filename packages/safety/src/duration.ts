import { KeepsakeError } from '@keepsake/core';

/**
 * `--older-than`: `30d`, `12w`, `6m`, `1y`, or a date `2024-01-31`. Returns the cutoff as a local
 * wall-time string comparable with `CaptureDate.local` (captured before it → old enough).
 */
export function parseOlderThan(value: string, now: Date = new Date()): string {
  const m = value.trim().match(/^(\d+)\s*(d|w|m|y)$/i);
  let cutoff: Date;
  if (m) {
    const n = Number(m[1]);
    cutoff = new Date(now);
    switch (m[2]!.toLowerCase()) {
      case 'd':
        cutoff.setDate(cutoff.getDate() - n);
        break;
      case 'w':
        cutoff.setDate(cutoff.getDate() - 7 * n);
        break;
      case 'm':
        cutoff.setMonth(cutoff.getMonth() - n);
        break;
      default:
        cutoff.setFullYear(cutoff.getFullYear() - n);
    }
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(value.trim())) {
    return `${value.trim()}T00:00:00`;
  } else {
    throw new KeepsakeError('OPTION_INVALID', `--older-than "${value}" is not a duration or a date`, {
      stage: 'config',
      hint: 'Use a number of days/weeks/months/years like 30d, 12w, 6m, 1y, or a date like 2024-01-31.',
    });
  }
  const p = (x: number) => String(x).padStart(2, '0');
  return `${cutoff.getFullYear()}-${p(cutoff.getMonth() + 1)}-${p(cutoff.getDate())}T${p(cutoff.getHours())}:${p(cutoff.getMinutes())}:${p(cutoff.getSeconds())}`;
}
