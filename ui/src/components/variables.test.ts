import { describe, expect, it } from 'vitest';
import { entriesOf, isRecord, scalarText } from './variables';

describe('scalarText', () => {
  it.each([
    ['text', 'Ann', 'Ann'],
    ['number', 42.5, '42.5'],
    ['true', true, 'true'],
    ['false', false, 'false'],
    ['null', null, '—'],
    ['empty text', '', '—'],
    ['empty list', [], '—'],
    ['list of plain values', ['a', 2, false], 'a, 2, false'],
    ['record', { a: 1 }, null],
    ['list holding a record', [{ a: 1 }], null],
    ['list holding a list', [[1]], null],
  ])('%s', (_, v, want) => {
    expect(scalarText(v)).toBe(want);
  });
});

describe('entriesOf', () => {
  it('sorts a record by name', () => {
    expect(entriesOf({ b: 1, a: 2 })).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });
  it('numbers a list from 1', () => {
    expect(entriesOf(['x', 'y'])).toEqual([
      ['1', 'x'],
      ['2', 'y'],
    ]);
  });
});

describe('isRecord', () => {
  it('tells records from lists and null', () => {
    expect(isRecord({})).toBe(true);
    expect(isRecord([])).toBe(false);
    expect(isRecord(null)).toBe(false);
  });
});
