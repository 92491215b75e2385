import { describe, expect, it } from 'vitest';
import { compact, duration, linePath, niceMax, pct, stack, ticks } from './chartmath';

describe('chart math', () => {
  it('rounds axis maxima up to 1, 2 or 5 × 10ⁿ', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(12)).toBe(20);
    expect(niceMax(450)).toBe(500);
    expect(niceMax(1000)).toBe(1000);
    expect(ticks(20, 4)).toEqual([0, 5, 10, 15, 20]);
  });
  it('writes percentages, compact numbers and durations', () => {
    expect(pct(1, 3)).toBe(33.3);
    expect(pct(5, 0)).toBe(0);
    expect(compact(1234)).toBe('1.2k');
    expect(compact(2500000)).toBe('2.5M');
    expect(compact(12)).toBe('12');
    expect(duration(45)).toBe('45 s');
    expect(duration(12 * 60 + 5)).toBe('12 min');
    expect(duration(3 * 3600 + 20 * 60)).toBe('3 h 20 min');
    expect(duration(2 * 86400 + 4 * 3600)).toBe('2 d 4 h');
    expect(duration(null)).toBe('—');
    expect(duration(Infinity)).toBe('—');
  });
  it('draws a line in the box, y up', () => {
    expect(linePath([{ x: 0, y: 0 }, { x: 10, y: 5 }], 100, 50, 0, 10, 5)).toBe('M0,50 L100,0');
    expect(linePath([], 100, 50, 0, 10, 5)).toBe('');
    expect(linePath([{ x: 3, y: 5 }], 100, 50, 3, 3, 10)).toBe('M50,25');
  });
  it('stacks segments without overflowing', () => {
    expect(stack([{ key: 'a', value: 2 }, { key: 'b', value: 1 }], 4)).toEqual([
      { key: 'a', start: 0, width: 0.5 },
      { key: 'b', start: 0.5, width: 0.25 },
    ]);
    const over = stack([{ key: 'a', value: 3 }, { key: 'b', value: 3 }], 4);
    expect(over[1]).toEqual({ key: 'b', start: 0.75, width: 0.25 });
    expect(stack([{ key: 'a', value: 3 }], 0)[0].width).toBe(0);
  });
});
