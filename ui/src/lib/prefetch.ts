// Starts requests before the code that needs them has loaded: opening
// /app/flows/{id} directly fetches the editor's code, the flow and the node
// types in parallel with the login check instead of one after the other.
const cache = new Map<string, { at: number; p: Promise<unknown> }>();

export function prefetch(key: string, f: () => Promise<unknown>) {
  if (cache.has(key)) return;
  const p = f();
  p.catch(() => {});
  cache.set(key, { at: Date.now(), p });
}

/** The prefetched result when fresh, else a new request (also when the prefetch failed). */
export function take<T>(key: string, f: () => Promise<T>): Promise<T> {
  const hit = cache.get(key);
  cache.delete(key);
  if (!hit || Date.now() - hit.at > 10_000) return f();
  return (hit.p as Promise<T>).catch(() => f());
}
