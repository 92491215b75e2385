// Pure helpers behind the campaign charts and the progress bar: axis scales,
// percentages, rates and ETAs. Kept apart from the components so they are
// unit-tested without a browser.

/** niceMax rounds a data maximum up to 1, 2 or 5 × 10ⁿ so the axis ends on a round number. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 5, 10]) if (m * exp >= max) return m * exp;
  return 10 * exp;
}

/** ticks gives `count`+1 evenly spaced values from 0 to max (max from niceMax). */
export function ticks(max: number, count = 4): number[] {
  const out: number[] = [];
  for (let i = 0; i <= count; i++) out.push((max * i) / count);
  return out;
}

/** pct is part/whole as a percentage with one decimal; 0 when whole is 0. */
export function pct(part: number, whole: number): number {
  if (!whole) return 0;
  return Math.round((part / whole) * 1000) / 10;
}

/** compact writes 1234 as "1.2k" and 2500000 as "2.5M" for axis labels. */
export function compact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e6) return `${trim(n / 1e6)}M`;
  if (a >= 1e3) return `${trim(n / 1e3)}k`;
  return trim(n);
}
function trim(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

/** duration writes seconds as "45 s", "12 min", "3 h 20 min" or "2 d 4 h". */
export function duration(seconds: number | null | undefined): string {
  if (seconds == null || !isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
  const d = Math.floor(h / 24);
  return `${d} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** Point is one sample of a line chart: x (ms since epoch or any number) and y. */
export interface Point {
  x: number;
  y: number;
}

/**
 * linePath maps points into a width×height box (y grows downwards, 0 at the
 * bottom, yMax at the top; x from xMin to xMax) and returns an SVG path.
 */
export function linePath(points: Point[], width: number, height: number, xMin: number, xMax: number, yMax: number): string {
  if (points.length === 0) return '';
  const sx = (x: number) => (xMax === xMin ? width / 2 : ((x - xMin) / (xMax - xMin)) * width);
  const sy = (y: number) => height - (yMax > 0 ? (y / yMax) * height : 0);
  return points.map((p, i) => `${i ? 'L' : 'M'}${r2(sx(p.x))},${r2(sy(p.y))}`).join(' ');
}
function r2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Segment is one coloured part of a stacked bar. */
export interface Segment {
  key: string;
  value: number;
}

/**
 * stack lays segments side by side as fractions of total (0..1 each, start
 * and width), clipping so the bar never overflows when counts overlap.
 */
export function stack(segments: Segment[], total: number): { key: string; start: number; width: number }[] {
  const out: { key: string; start: number; width: number }[] = [];
  let at = 0;
  for (const s of segments) {
    const w = total > 0 ? Math.max(0, Math.min(s.value / total, 1 - at)) : 0;
    out.push({ key: s.key, start: at, width: w });
    at += w;
  }
  return out;
}
