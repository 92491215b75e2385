import { useState, type FormEvent } from 'react';
import { limits } from '../api/limits';
import { useAuth } from '../lib/auth';
import { useTitle } from '../lib/router';
import { ErrorBanner } from '../components/ui';
import { ThemeSwitch } from '../components/Layout';

export function LoginPage() {
  useTitle('Log in');
  const { login } = useAuth();
  const [email, setEmail] = useState('admin@parley.local');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email, password);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="login">
      <div className="login-theme">
        <ThemeSwitch />
      </div>
      <form onSubmit={submit} className="card" aria-labelledby="login-title">
        <h1 id="login-title">Log in to Parley</h1>
        <p className="muted">
          On the first start, <code>parley serve</code> prints the admin’s email and password in the terminal.
        </p>
        <ErrorBanner error={error} />
        <div className="field">
          <label htmlFor="email">Email</label>
          <input id="email" type="email" autoComplete="username" maxLength={limits.LoginInputBody.email} value={email} onChange={(e) => setEmail(e.target.value)} required />
        </div>
        <div className="field">
          <label htmlFor="password">Password</label>
          <input
            id="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            autoFocus
          />
        </div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </div>
  );
}
