import { useState, type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
import { limits } from '../api/limits';
import { useAuth, useMe } from '../lib/auth';
import { Link, useTitle } from '../lib/router';
import { AIProviders } from '../ai/Providers';
import EventWebhooks from './EventWebhooks';
import { Badge, CopyField, Dialog, Empty, ErrorBanner, Pager, timeAgo, useLoad, usePager, useToast } from '../components/ui';

type Role = 'owner' | 'editor' | 'viewer';

export default function Settings() {
  useTitle('Settings');
  const me = useMe();
  const owner = me.role === 'owner';
  return (
    <div className="page">
      <div className="page-head">
        <h1>Settings</h1>
      </div>
      <ProjectName />
      {me.role !== 'viewer' && <AIProviders owner={owner} />}
      <EventWebhooks />
      {owner ? (
        <>
          <Tokens />
          <Members />
        </>
      ) : (
        <p className="muted">Only the project’s owners manage API tokens and members.</p>
      )}
    </div>
  );
}

function ProjectName() {
  const me = useMe();
  const { refresh } = useAuth();
  const toast = useToast();
  const current = me.projects?.find((p) => p.id === me.project_id);
  const [name, setName] = useState(current?.name ?? '');
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api.put('/projects/{project_id}/', { path: { project_id: me.project_id! }, body: { name: name.trim() } });
      await refresh();
      toast('Project renamed');
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section className="panel" aria-labelledby="proj-h">
      <h2 id="proj-h">Project</h2>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <form className="row gap" onSubmit={submit}>
        <label htmlFor="proj-name">Project name</label>
        <input id="proj-name" maxLength={limits.ProjectUpdateInputBody.name} value={name} onChange={(e) => setName(e.target.value)} disabled={me.role !== 'owner'} required />
        {me.role === 'owner' && <button type="submit">Rename</button>}
      </form>
      <ProjectList />
    </section>
  );
}

/** The caller's projects with their provisioning and their database's state. */
function ProjectList() {
  const list = useLoad((signal) => api.get('/projects/', { signal }), []);
  const rows = list.data?.results ?? [];
  return (
    <>
      <h3>Your projects</h3>
      <ErrorBanner error={list.error} />
      <table className="table" aria-label="Projects">
        <thead>
          <tr>
            <th>Project</th>
            <th>Status</th>
            <th>Database</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => (
            <tr key={p.id}>
              <td>{p.name}</td>
              <td>
                <Badge kind={p.status}>{p.status}</Badge>
              </td>
              <td>
                {p.database && (
                  <>
                    <Badge kind={p.database.status === 'ready' ? 'ok' : p.database.status === 'failed' ? 'error' : 'draft'}>
                      {p.database.status === 'none' ? 'created on first use' : p.database.status}
                    </Badge>{' '}
                    {p.database.status === 'failed' && (
                      <span className="small">
                        {p.database.reason} — retry from the <Link to="/data">Data page</Link>
                      </span>
                    )}
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Tokens() {
  const toast = useToast();
  const pager = usePager();
  const list = useLoad((signal) => api.get('/tokens/', { query: { cursor: pager.cursor || undefined }, signal }), [pager.cursor]);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('editor');
  const [fresh, setFresh] = useState<Schemas['NewToken'] | null>(null);
  const [revoking, setRevoking] = useState<Schemas['Token'] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    try {
      setFresh(await api.post('/tokens/', { body: { name: name.trim(), role } }));
      setName('');
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (t: Schemas['Token']) => {
    try {
      await api.del('/tokens/{token_id}/', { path: { token_id: t.id } });
      toast(`Revoked ${t.name}`);
      list.reload();
    } catch (err) {
      setError(err);
    }
    setRevoking(null);
  };
  const tokens = list.data?.results ?? [];
  return (
    <section className="panel" aria-labelledby="tok-h">
      <h2 id="tok-h">API tokens</h2>
      <p className="muted small">
        For scripts and integrations: send <code>Authorization: Bearer prl_…</code>. The secret is shown once.
      </p>
      <ErrorBanner error={error ?? list.error} onDismiss={() => setError(null)} />
      <form className="row gap" onSubmit={create}>
        <label htmlFor="tok-name">Token name</label>
        <input id="tok-name" maxLength={limits.TokenCreateInputBody.name} value={name} onChange={(e) => setName(e.target.value)} required />
        <label htmlFor="tok-role">Role</label>
        <select id="tok-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          <option value="viewer">Viewer</option>
          <option value="editor">Editor</option>
          <option value="owner">Owner</option>
        </select>
        <button type="submit">Create token</button>
      </form>
      {fresh?.token && (
        <div className="secret-box" role="status">
          <CopyField label="New token (shown once)" value={fresh.token} />
          <p className="hint">Copy it now: Parley stores only a hash and cannot show it again.</p>
        </div>
      )}
      {!list.loading && tokens.length === 0 ? (
        <Empty title="No API tokens">Create one to call the API from a script.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Prefix</th>
              <th>Role</th>
              <th>Created</th>
              <th>Last used</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td>{t.role}</td>
                <td className="small">{timeAgo(t.created_at)}</td>
                <td className="small">{t.revoked_at ? `revoked ${timeAgo(t.revoked_at)}` : t.last_used_at ? timeAgo(t.last_used_at) : 'never'}</td>
                <td className="actions">
                  {!t.revoked_at && (
                    <button type="button" className="danger" onClick={() => setRevoking(t)} aria-label={`Revoke ${t.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pager={pager} nextCursor={list.data?.next_cursor} />
      {revoking && (
        <Dialog title={`Revoke ${revoking.name}?`} onClose={() => setRevoking(null)}>
          <p>Scripts using it stop working at once. This cannot be undone.</p>
          <div className="dialog-actions">
            <button type="button" onClick={() => setRevoking(null)}>
              Cancel
            </button>
            <button type="button" className="danger" onClick={() => void revoke(revoking)}>
              Revoke token
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}

function Members() {
  const me = useMe();
  const pid = me.project_id!;
  const toast = useToast();
  const list = useLoad((signal) => api.get('/projects/{project_id}/members/', { path: { project_id: pid }, signal }), [pid]);
  const invites = useLoad((signal) => api.get('/projects/{project_id}/invitations/', { path: { project_id: pid }, signal }), [pid]);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('editor');
  const [error, setError] = useState<unknown>(null);
  // The accept link of the invitation just made: the server shows it once.
  const [link, setLink] = useState<{ email: string; url: string } | null>(null);
  const invite = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const inv = await api.post('/projects/{project_id}/members/', { path: { project_id: pid }, body: { email: email.trim(), role } });
      setLink({ email: inv.email, url: inv.accept_url });
      setEmail('');
      toast('Invitation created');
      invites.reload();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (userId: string) => {
    try {
      await api.del('/projects/{project_id}/members/{user_id}/', { path: { project_id: pid, user_id: userId } });
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const setMemberRole = async (userId: string, r: Role) => {
    try {
      await api.put('/projects/{project_id}/members/{user_id}/', { path: { project_id: pid, user_id: userId }, body: { role: r } });
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const withdraw = async (id: string) => {
    try {
      await api.del('/projects/{project_id}/invitations/{invitation_id}/', { path: { project_id: pid, invitation_id: id } });
      invites.reload();
    } catch (err) {
      setError(err);
    }
  };
  const pending = invites.data?.results ?? [];
  return (
    <section className="panel" aria-labelledby="mem-h">
      <h2 id="mem-h">Members</h2>
      <ErrorBanner error={error ?? list.error ?? invites.error} onDismiss={() => setError(null)} />
      <form className="row gap" onSubmit={invite}>
        <label htmlFor="mem-email">Email</label>
        <input id="mem-email" type="email" maxLength={limits.MemberInviteInputBody.email} value={email} onChange={(e) => setEmail(e.target.value)} required />
        <label htmlFor="mem-role">Role</label>
        <select id="mem-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          <option value="viewer">Viewer</option>
          <option value="editor">Editor</option>
          <option value="owner">Owner</option>
        </select>
        <button type="submit">Invite</button>
      </form>
      <p className="hint">
        Inviting makes a link; Parley sends no mail, so give the link to the person yourself. They open it, log in as that address
        (or set a password if they are new) and join. The link works once, for 7 days.
      </p>
      {link && (
        <div className="secret-box" role="status" aria-label="Invitation link">
          <p>
            Invitation for <strong>{link.email}</strong>. Copy the link now — it is shown only once:
          </p>
          <CopyField label="Invitation link" value={link.url} />
        </div>
      )}
      <table className="table">
        <thead>
          <tr>
            <th>Email</th>
            <th>Name</th>
            <th>Role</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {(list.data?.results ?? []).map((m) => (
            <tr key={m.user_id}>
              <td>{m.email}</td>
              <td>{m.name}</td>
              <td>
                {m.user_id === me.user?.id ? (
                  m.role
                ) : (
                  <select aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => void setMemberRole(m.user_id, e.target.value as Role)}>
                    <option value="viewer">viewer</option>
                    <option value="editor">editor</option>
                    <option value="owner">owner</option>
                  </select>
                )}
              </td>
              <td className="actions">
                {m.user_id !== me.user?.id && (
                  <button type="button" className="danger" onClick={() => void remove(m.user_id)} aria-label={`Remove ${m.email}`}>
                    Remove
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {pending.length > 0 && (
        <>
          <h3 id="inv-h">Pending invitations</h3>
          <table className="table" aria-labelledby="inv-h">
            <thead>
              <tr>
                <th>Email</th>
                <th>Role</th>
                <th>Expires</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {pending.map((inv) => (
                <tr key={inv.id}>
                  <td>{inv.email}</td>
                  <td>{inv.role}</td>
                  <td>{new Date(inv.expires_at).toLocaleString()}</td>
                  <td className="actions">
                    <button type="button" className="danger" onClick={() => void withdraw(inv.id)} aria-label={`Withdraw the invitation of ${inv.email}`}>
                      Withdraw
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
