import { describe, expect, it } from 'vitest';
import { completions } from './CodeField';

describe('code field completions', () => {
  it.each([
    ['return db', ['db.query(sql, params)', 'db.insert(table, row)']],
    ['const r = db.q', ['db.query(sql, params)']],
    ['http.', ['http.request({url, method, headers, body})']],
    ['contact.ph', ['contact.phone']],
    ['x = ', []],
  ])('%s', (text, want) => {
    expect(completions(text, text.length).items.map((c) => c.name)).toEqual(want);
  });
});
