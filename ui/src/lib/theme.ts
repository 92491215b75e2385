// The colour theme: the system's (prefers-color-scheme) unless the user
// picked light or dark, remembered in localStorage. It is applied as
// <html data-theme="light|dark">; styles.css defines every colour as a
// custom property per theme, so pages need no theme logic of their own.
import { useSyncExternalStore } from 'react';

export type ThemeChoice = 'system' | 'light' | 'dark';
const KEY = 'parley:theme';
const media = () => (typeof window.matchMedia === 'function' ? window.matchMedia('(prefers-color-scheme: dark)') : null);
const listeners = new Set<() => void>();

export function themeChoice(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    if (v === 'light' || v === 'dark') return v;
  } catch {
    // Storage can be blocked (private mode): the system setting applies.
  }
  return 'system';
}

/** The theme in effect: the choice, or the system's for "system". */
export function effectiveTheme(choice = themeChoice()): 'light' | 'dark' {
  if (choice !== 'system') return choice;
  return media()?.matches ? 'dark' : 'light';
}

function apply() {
  document.documentElement.dataset.theme = effectiveTheme();
  listeners.forEach((l) => l());
}

export function setThemeChoice(c: ThemeChoice) {
  try {
    if (c === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, c);
  } catch {
    // Not remembered, still applied for this page.
  }
  apply();
}

/** Applies the theme now and follows system changes; call once at start. */
export function initTheme() {
  apply();
  media()?.addEventListener('change', apply);
  // Another tab changed the choice.
  window.addEventListener('storage', (e) => e.key === KEY && apply());
}

function subscribe(cb: () => void) {
  listeners.add(cb);
  return () => listeners.delete(cb);
}

/** The user's choice and the theme in effect, re-rendering when either changes. */
export function useTheme(): { choice: ThemeChoice; theme: 'light' | 'dark' } {
  const choice = useSyncExternalStore(subscribe, themeChoice);
  const theme = useSyncExternalStore(subscribe, () => effectiveTheme());
  return { choice, theme };
}
