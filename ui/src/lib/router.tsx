// A tiny router: the app lives under /app/ and client routes are plain paths
// below it. No dependency needed for a handful of routes.
import { useEffect, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

export const BASE = '/app';

function subscribe(cb: () => void) {
  window.addEventListener('popstate', cb);
  window.addEventListener('parley:navigate', cb);
  return () => {
    window.removeEventListener('popstate', cb);
    window.removeEventListener('parley:navigate', cb);
  };
}
const snapshot = () => window.location.pathname.replace(/^\/app/, '') || '/';

/** The current route (the path below /app), e.g. "/flows/123". */
export function useRoute(): string {
  return useSyncExternalStore(subscribe, snapshot);
}

export function navigate(to: string, replace = false) {
  const url = BASE + (to.startsWith('/') ? to : '/' + to);
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event('parley:navigate'));
}

/** Matches "/flows/:id" against a route; returns the params or null. */
export function match(pattern: string, route: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const r = route.split('/').filter(Boolean);
  if (p.length !== r.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) out[p[i].slice(1)] = decodeURIComponent(r[i]);
    else if (p[i] !== r[i]) return null;
  }
  return out;
}

export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  return (
    <a
      href={BASE + to}
      onClick={(e: MouseEvent<HTMLAnchorElement>) => {
        onClick?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        navigate(to);
      }}
      {...rest}
    />
  );
}

export function useTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · Parley` : 'Parley';
  }, [title]);
}
