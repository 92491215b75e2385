// Helpers for showing a session's variables to a person: names and values,
// nested records indented, instead of raw JSON.

/** isRecord tells a JSON object from arrays, scalars and null. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * scalarText is how a value that is not a record reads: text as it is,
 * numbers and true/false as written, an empty value as an em dash, and a
 * list of plain values joined by commas. It returns null for values that
 * need a nested view (records, lists holding records).
 */
export function scalarText(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return '—';
    const parts = v.map(scalarText);
    if (v.some((x) => isRecord(x) || Array.isArray(x))) return null;
    return parts.join(', ');
  }
  return null;
}

/** entriesOf lists a record's or a list's members as [name, value] pairs (a list's names are its positions, from 1). */
export function entriesOf(v: Record<string, unknown> | unknown[]): [string, unknown][] {
  if (Array.isArray(v)) return v.map((x, i) => [String(i + 1), x]);
  return Object.entries(v).sort(([a], [b]) => a.localeCompare(b));
}
