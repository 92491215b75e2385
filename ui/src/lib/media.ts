// Layout breakpoints shared by components that change behaviour (not only
// looks) on small screens; styles.css uses the same widths.
import { useSyncExternalStore } from 'react';

/** Phone width: the canvas is read-only below it and the inbox shows one pane. */
export const PHONE = '(max-width: 720px)';

/** Whether the media query matches now, following changes (e.g. phone width). */
export function useMedia(query: string): boolean {
  return useSyncExternalStore(
    (cb) => {
      const m = window.matchMedia(query);
      m.addEventListener('change', cb);
      return () => m.removeEventListener('change', cb);
    },
    () => window.matchMedia(query).matches,
  );
}
