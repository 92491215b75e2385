import { useId, useState, type ReactNode } from 'react';
import { useAuth, useMe } from '../lib/auth';
import { Link, navigate } from '../lib/router';
import { errorMessage } from '../api/client';
import { useToast } from './ui';

const NAV = [
  ['/flows', 'Flows'],
  ['/conversations', 'Conversations'],
  ['/campaigns', 'Campaigns'],
  ['/channels', 'Channels'],
  ['/templates', 'Templates'],
  ['/whatsapp-flows', 'WhatsApp Flows'],
  ['/settings', 'Settings'],
] as const;

export function Layout({ route, children }: { route: string; children: ReactNode }) {
  const me = useMe();
  const { logout, switchProject } = useAuth();
  const toast = useToast();
  const projectId = useId();
  const [busy, setBusy] = useState(false);
  return (
    <div className="shell">
      <header className="topbar">
        <Link to="/flows" className="brand">
          Parley
        </Link>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <Link key={to} to={to} aria-current={route.startsWith(to) ? 'page' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <div className="spacer" />
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
        <span className="muted small" title={`Role: ${me.role}`}>
          {me.user?.email}
        </span>
        <button type="button" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <main className="main">{children}</main>
    </div>
  );
}
