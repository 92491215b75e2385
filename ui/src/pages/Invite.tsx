import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, type Schemas } from '../api/client';
import { limits } from '../api/limits';
import { useAuth } from '../lib/auth';
import { navigate, useTitle } from '../lib/router';
import { ErrorBanner } from '../components/ui';

// The page an invitation link opens (/app/invite?token=…). It works logged
// out: the invitee logs in as the invited address and accepts, or, when new,
// sets a password. The server answers the "new" step the same way whether
// or not the address already has an account, so this page cannot tell
// either: when the login with the new password fails, it asks for the
// existing password instead.
export default function InvitePage() {
  useTitle('Invitation');
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  const { me, login, logout, refresh } = useAuth();
  const [info, setInfo] = useState<Schemas['InvitationInfo'] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [password, setPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [name, setName] = useState('');
  const [hint, setHint] = useState('');

  useEffect(() => {
    api.post('/invitations/lookup', { body: { token } }).then(setInfo, setError);
  }, [token]);

  const accept = async () => {
    await api.post('/invitations/accept', { body: { token } });
    await refresh();
    navigate('/flows', true);
  };
  const run = async (e: FormEvent, fn: () => Promise<void>) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (!info) {
    return (
      <div className="login">
        <div className="card">
          <h1>Invitation</h1>
          {error ? <ErrorBanner error={error} /> : <p>Checking the link…</p>}
        </div>
      </div>
    );
  }
  const sameUser = me?.user?.email?.toLowerCase() === info.email.toLowerCase();
  return (
    <div className="login">
      <div className="card" aria-labelledby="inv-title">
        <h1 id="inv-title">Join {info.project_name}</h1>
        <p>
          You are invited to <strong>{info.project_name}</strong> as <strong>{info.role}</strong>, with the address{' '}
          <strong>{info.email}</strong>. The link works until {new Date(info.expires_at).toLocaleString()}.
        </p>
        <ErrorBanner error={error} />
        {me && sameUser && (
          <button type="button" className="primary" disabled={busy} onClick={(e) => void run(e, accept)}>
            Accept the invitation
          </button>
        )}
        {me && !sameUser && (
          <p>
            You are logged in as {me.user?.email}. This invitation is for {info.email}.{' '}
            <button type="button" onClick={() => void logout()}>
              Log out
            </button>
          </p>
        )}
        {!me && (
          <>
            <form onSubmit={(e) => void run(e, async () => { await login(info.email, password); await accept(); })} aria-labelledby="inv-existing">
              <h2 id="inv-existing">I have a Parley login</h2>
              <div className="field">
                <label htmlFor="inv-password">Password of {info.email}</label>
                <input id="inv-password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
              </div>
              <button type="submit" className="primary" disabled={busy}>
                Log in and accept
              </button>
            </form>
            <form
              onSubmit={(e) =>
                void run(e, async () => {
                  await api.post('/invitations/register', { body: { token, name: name.trim(), password: newPassword } });
                  try {
                    await login(info.email, newPassword);
                  } catch (err) {
                    if (err instanceof ApiError && err.status === 401) {
                      setHint(`${info.email} already has a login, so the password was not changed: log in with it above to accept.`);
                      return;
                    }
                    throw err;
                  }
                  await refresh();
                  navigate('/flows', true);
                })
              }
              aria-labelledby="inv-new"
            >
              <h2 id="inv-new">I am new here</h2>
              {hint && <p role="status">{hint}</p>}
              <div className="field">
                <label htmlFor="inv-name">Your name</label>
                <input id="inv-name" maxLength={limits.InvitationRegisterInputBody.name} value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" />
              </div>
              <div className="field">
                <label htmlFor="inv-new-password">Choose a password (10 characters or more)</label>
                <input id="inv-new-password" type="password" autoComplete="new-password" minLength={10} value={newPassword} onChange={(e) => setNewPassword(e.target.value)} required />
              </div>
              <button type="submit" disabled={busy}>
                Create my login and join
              </button>
            </form>
          </>
        )}
      </div>
    </div>
  );
}
