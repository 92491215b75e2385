// Pages loaded on demand that render at once when their code is already in.
import { lazy, useState, type ComponentType } from 'react';

/**
 * page wraps a page's dynamic import. load() fetches the code (and may be
 * called early: on a navigation, when idle); once it is in, the page
 * renders in the same frame instead of suspending first, so no "Loading…"
 * placeholder flashes between pages. React.lazy is used only when the code
 * is not there yet.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function page<P extends Record<string, any>>(importer: () => Promise<{ default: ComponentType<P> }>) {
  let loaded: ComponentType<P> | null = null;
  let pending: Promise<{ default: ComponentType<P> }> | null = null;
  const load = () => {
    pending ??= importer().then(
      (m) => {
        loaded = m.default;
        return m;
      },
      (e) => {
        pending = null; // a failed chunk load can be tried again
        throw e;
      },
    );
    return pending;
  };
  const Lazy = lazy(load);
  function Page(props: P) {
    // Chosen once per mount: switching from Lazy to the module later would remount the page.
    const [Loaded] = useState(() => loaded);
    return Loaded ? <Loaded {...props} /> : <Lazy {...props} />;
  }
  return { Page, load };
}
