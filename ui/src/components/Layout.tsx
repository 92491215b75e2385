import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { useAuth, useMe } from '../lib/auth';
import { Link, navigate } from '../lib/router';
import { setThemeChoice, useTheme, type ThemeChoice } from '../lib/theme';
import { errorMessage } from '../api/client';
import { useToast } from './ui';

const NAV = [
  ['/flows', 'Flows'],
  ['/conversations', 'Conversations'],
  ['/campaigns', 'Campaigns'],
  ['/channels', 'Channels'],
  ['/templates', 'Templates'],
  ['/whatsapp-flows', 'WhatsApp Flows'],
  ['/data', 'Data'],
  ['/settings', 'Settings'],
] as const;

/** ThemeSwitch picks the colour theme: the system's, light or dark. */
export function ThemeSwitch() {
  const { choice } = useTheme();
  const id = useId();
  return (
    <span className="theme-switch">
      <label htmlFor={id} className="muted small">
        Theme
      </label>
      <select id={id} value={choice} onChange={(e) => setThemeChoice(e.target.value as ThemeChoice)}>
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </span>
  );
}

// The app shell: a skip link, the top bar (on narrow screens the navigation
// and account controls fold behind a Menu button) and the page.
export function Layout({ route, children }: { route: string; children: ReactNode }) {
  const me = useMe();
  const { logout, switchProject } = useAuth();
  const toast = useToast();
  const projectId = useId();
  const menuId = useId();
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState(false);
  const menuButton = useRef<HTMLButtonElement>(null);
  // Following a link closes the menu.
  useEffect(() => setOpen(false), [route]);
  return (
    <div className="shell">
      <a href="#main" className="skip-link" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/flows" className="brand">
          Parley
        </Link>
        <button
          type="button"
          ref={menuButton}
          className="menu-button"
          aria-expanded={open}
          aria-controls={menuId}
          onClick={() => setOpen((o) => !o)}
        >
          <span aria-hidden>{open ? '✕' : '☰'}</span> Menu
        </button>
        <div
          id={menuId}
          className={open ? 'topbar-menu open' : 'topbar-menu'}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && open) {
              setOpen(false);
              menuButton.current?.focus();
            }
          }}
        >
          <nav aria-label="Main">
            {NAV.map(([to, label]) => (
              <Link key={to} to={to} aria-current={route.startsWith(to) ? 'page' : undefined}>
                {label}
              </Link>
            ))}
          </nav>
          <div className="spacer" />
          <span className="topbar-project">
            <label htmlFor={projectId} className="muted small">
              Project
            </label>
            <select
              id={projectId}
              value={me.project_id}
              disabled={busy}
              onChange={async (e) => {
                setBusy(true);
                try {
                  await switchProject(e.target.value);
                  navigate('/flows');
                } catch (err) {
                  toast(errorMessage(err), 'error');
                } finally {
                  setBusy(false);
                }
              }}
            >
              {(me.projects ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </span>
          <ThemeSwitch />
          <span className="muted small topbar-user" title={`Role: ${me.role}`}>
            {me.user?.email}
          </span>
          <button type="button" title={`Logged in as ${me.user?.email ?? ''} (${me.role})`} onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      <main className="main" id="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
