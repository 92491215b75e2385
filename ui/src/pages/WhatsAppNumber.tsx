// A WhatsApp number: connecting it with Meta's embedded signup (or the
// sandbox's stand-in for Meta's window), and its business profile shown as
// WhatsApp renders it (docs/whatsapp.md).
import { useState, type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
import { Badge, Dialog, ErrorBanner, useLoad, useToast } from '../components/ui';

type SignupView = Schemas['View'];
type SignupConfig = Schemas['SignupConfigView'];
type Profile = Schemas['ProfileView'];

// What Meta's signup window (or the stand-in) hands back.
interface Returned {
  code: string;
  waba_id: string;
  phone_number_id: string;
}

declare global {
  interface Window {
    FB?: {
      init: (o: Record<string, unknown>) => void;
      login: (cb: (r: { authResponse?: { code?: string } }) => void, o: Record<string, unknown>) => void;
    };
    fbAsyncInit?: () => void;
  }
}

// launchMeta opens Meta's embedded signup with the Facebook JS SDK: the
// code comes back in FB.login's answer, the account and number IDs in a
// WA_EMBEDDED_SIGNUP message from facebook.com.
async function launchMeta(cfg: SignupConfig): Promise<Returned> {
  if (!window.FB) {
    await new Promise<void>((resolve, reject) => {
      window.fbAsyncInit = () => resolve();
      const s = document.createElement('script');
      s.src = 'https://connect.facebook.net/en_US/sdk.js';
      s.async = true;
      s.onerror = () => reject(new Error('the Facebook SDK could not be loaded'));
      document.body.appendChild(s);
    });
  }
  window.FB!.init({ appId: cfg.app_id, autoLogAppEvents: true, xfbml: true, version: 'v21.0' });
  let ids: { waba_id: string; phone_number_id: string } | null = null;
  const onMessage = (e: MessageEvent) => {
    if (!/facebook\.com$/.test(new URL(e.origin).hostname)) return;
    try {
      const d = typeof e.data === 'string' ? JSON.parse(e.data) : e.data;
      if (d?.type === 'WA_EMBEDDED_SIGNUP' && d.event === 'FINISH') ids = { waba_id: d.data.waba_id, phone_number_id: d.data.phone_number_id };
    } catch {
      /* other messages */
    }
  };
  window.addEventListener('message', onMessage);
  try {
    const code = await new Promise<string>((resolve, reject) =>
      window.FB!.login(
        (r) => (r.authResponse?.code ? resolve(r.authResponse.code) : reject(new Error('the signup window was closed before it finished'))),
        { config_id: cfg.config_id, response_type: 'code', override_default_response_type: true, extras: { setup: {}, sessionInfoVersion: '3' } },
      ),
    );
    for (let i = 0; i < 50 && !ids; i++) await new Promise((r) => setTimeout(r, 100));
    if (!ids) throw new Error('Meta returned a code but no business account and number');
    return { code, ...(ids as { waba_id: string; phone_number_id: string }) };
  } finally {
    window.removeEventListener('message', onMessage);
  }
}

const stepLabel: Record<string, string> = {
  exchange_code: 'Exchange the code for a business token',
  subscribe_app: 'Subscribe the app to the account’s webhooks',
  register_number: 'Register the number',
  create_channel: 'Create the channel',
};

/** The "Connect with Facebook" button and the signup's progress. */
export function EmbeddedSignup({ onConnected }: { onConnected: () => void }) {
  const cfg = useLoad((signal) => api.get('/whatsapp-signups/config', { signal }), []);
  const toast = useToast();
  const [standIn, setStandIn] = useState(false);
  const [returned, setReturned] = useState<Returned | null>(null);
  const [pin, setPin] = useState('');
  const [name, setName] = useState('');
  const [signup, setSignup] = useState<SignupView | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const c = cfg.data;
  if (!c?.available) return null;
  const launch = async () => {
    setError(null);
    setSignup(null);
    if (c.sandbox) return setStandIn(true);
    try {
      setReturned(await launchMeta(c));
    } catch (e) {
      setError(e);
    }
  };
  const finish = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const v = signup
        ? await api.post('/whatsapp-signups/{signup_id}/retry', { path: { signup_id: signup.id }, body: { pin } })
        : await api.post('/whatsapp-signups/', { body: { ...returned!, pin, name } });
      setSignup(v);
      if (v.status === 'done') {
        toast(`${v.name} is connected`);
        onConnected();
      }
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  const close = () => {
    setReturned(null);
    setSignup(null);
    setPin('');
  };
  return (
    <>
      <button type="button" className="primary" onClick={() => void launch()}>
        Connect with Facebook
      </button>
      {standIn && c.stand_in && (
        <Dialog title="Meta signup (sandbox stand-in)" onClose={() => setStandIn(false)}>
          <p className="hint">
            With <code>--sandbox</code> this window stands in for Meta’s: it returns what Meta’s would, and Parley then makes the same Graph API calls
            against the sandbox.
          </p>
          <dl className="kv">
            <dt>Business</dt>
            <dd>{c.stand_in.business}</dd>
            <dt>WhatsApp Business Account</dt>
            <dd>{c.stand_in.waba_id}</dd>
            <dt>Phone number</dt>
            <dd>
              +{c.stand_in.display_phone} (ID {c.stand_in.phone_number_id})
            </dd>
            <dt>Two-step PIN</dt>
            <dd>
              <code>{c.stand_in.pin}</code>
            </dd>
          </dl>
          <div className="dialog-actions">
            <button type="button" onClick={() => setStandIn(false)}>
              Cancel
            </button>
            <button
              type="button"
              className="primary"
              onClick={() => {
                const s = c.stand_in!;
                setStandIn(false);
                setName(s.business);
                setReturned({ code: s.code_prefix + Math.random().toString(36).slice(2), waba_id: s.waba_id, phone_number_id: s.phone_number_id });
              }}
            >
              Finish signup
            </button>
          </div>
        </Dialog>
      )}
      {returned && (
        <Dialog title="Connect the WhatsApp number" onClose={close}>
          <ErrorBanner error={error} onDismiss={() => setError(null)} />
          <form className="stack" onSubmit={finish}>
            {!signup && (
              <label>
                Channel name
                <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
              </label>
            )}
            <label>
              Two-step verification PIN (6 digits)
              <input value={pin} onChange={(e) => setPin(e.target.value)} inputMode="numeric" pattern="[0-9]{6}" required />
            </label>
            {signup && (
              <ol className="steps" aria-label="Signup steps">
                {(signup.steps ?? []).map((s) => (
                  <li key={s.name}>
                    <Badge kind={s.status === 'done' ? 'ok' : s.status === 'failed' ? 'error' : 'muted'}>{s.status}</Badge> {stepLabel[s.name] ?? s.name}
                    {s.detail && <div className="small error-text">{s.detail}</div>}
                  </li>
                ))}
              </ol>
            )}
            <div className="dialog-actions">
              {signup?.status === 'done' ? (
                <button type="button" className="primary" onClick={close}>
                  Done
                </button>
              ) : (
                <button type="submit" className="primary" disabled={busy}>
                  {busy ? 'Connecting…' : signup ? 'Retry from the failed step' : 'Connect'}
                </button>
              )}
            </div>
          </form>
        </Dialog>
      )}
      {!returned && <ErrorBanner error={error} onDismiss={() => setError(null)} />}
    </>
  );
}

/** The business profile editor, beside the profile as WhatsApp shows it. */
export function ProfileDialog({ channelId, onClose }: { channelId: string; onClose: () => void }) {
  const toast = useToast();
  const [profile, setProfile] = useState<Profile | null>(null);
  const load = useLoad(async (signal) => {
    const p = await api.get('/channels/{channel_id}/profile', { path: { channel_id: channelId }, signal });
    setProfile(p);
    setForm({ about: p.about, address: p.address, description: p.description, email: p.email, websites: (p.websites ?? []).join('\n'), vertical: p.vertical });
    return p;
  }, [channelId]);
  const [form, setForm] = useState({ about: '', address: '', description: '', email: '', websites: '', vertical: '' });
  const [newName, setNewName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const run = async (what: string, fn: () => Promise<Profile>) => {
    setBusy(true);
    setError(null);
    try {
      setProfile(await fn());
      toast(what);
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };
  const save = (e: FormEvent) => {
    e.preventDefault();
    const websites = form.websites.split('\n').map((w) => w.trim()).filter(Boolean);
    void run('Profile saved', () =>
      api.put('/channels/{channel_id}/profile', {
        path: { channel_id: channelId },
        body: { about: form.about, address: form.address, description: form.description, email: form.email, websites, vertical: form.vertical || undefined },
      }),
    );
  };
  const upload = async (file: File) => {
    const data = await new Promise<string>((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(String(r.result).split(',')[1] ?? '');
      r.onerror = () => reject(r.error);
      r.readAsDataURL(file);
    });
    void run('Photo uploaded', () =>
      api.post('/channels/{channel_id}/profile/photo', {
        path: { channel_id: channelId },
        body: { file_name: file.name, mime_type: file.type as 'image/png' | 'image/jpeg', data },
      }),
    );
  };
  const requestName = (e: FormEvent) => {
    e.preventDefault();
    void run('Display name requested: Meta reviews it', () =>
      api.post('/channels/{channel_id}/profile/display-name', { path: { channel_id: channelId }, body: { name: newName.trim() } }),
    );
    setNewName('');
  };
  const p = profile;
  return (
    <Dialog wide title="Business profile" onClose={onClose}>
      <ErrorBanner error={error ?? load.error} onDismiss={() => setError(null)} />
      {!p ? (
        <p className="muted">Loading the profile from Meta…</p>
      ) : (
        <div className="row gap top">
          <div className="wa-phone" aria-label="Profile preview">
            <div className="wa-photo">{p.photo_url ? <img src={p.photo_url} alt="Profile photo" /> : <span aria-hidden>🏪</span>}</div>
            <div className="wa-name">{p.display_name || 'Business'}</div>
            <div className="wa-sub">+{p.display_phone}</div>
            <div className="wa-card">
              <div className="wa-about">{p.about || 'About'}</div>
            </div>
            <div className="wa-card">
              {p.description && <p>{p.description}</p>}
              {p.vertical && <p className="wa-line">🏷️ {p.vertical}</p>}
              {p.address && <p className="wa-line">📍 {p.address}</p>}
              {p.email && <p className="wa-line">✉️ {p.email}</p>}
              {(p.websites ?? []).map((w) => (
                <p key={w} className="wa-line">
                  🌐 {w}
                </p>
              ))}
            </div>
          </div>
          <div className="stack grow">
            <form className="stack" onSubmit={save} aria-label="Profile">
              <label>
                About
                <input value={form.about} onChange={set('about')} maxLength={139} />
              </label>
              <label>
                Description
                <textarea value={form.description} onChange={set('description')} maxLength={512} rows={3} />
              </label>
              <label>
                Address
                <input value={form.address} onChange={set('address')} maxLength={256} />
              </label>
              <label>
                Email
                <input type="email" value={form.email} onChange={set('email')} maxLength={128} />
              </label>
              <label>
                Websites (one per line, at most 2)
                <textarea value={form.websites} onChange={set('websites')} rows={2} />
              </label>
              <label>
                Category
                <select value={form.vertical} onChange={set('vertical')}>
                  <option value="">—</option>
                  {(p.verticals ?? []).map((v) => (
                    <option key={v} value={v}>
                      {v}
                    </option>
                  ))}
                </select>
              </label>
              <div>
                <button type="submit" className="primary" disabled={busy}>
                  Save profile
                </button>
              </div>
            </form>
            <label>
              Profile photo (JPEG or PNG)
              <input type="file" accept="image/jpeg,image/png" onChange={(e) => e.target.files?.[0] && void upload(e.target.files[0])} />
            </label>
            <form className="row gap" onSubmit={requestName} aria-label="Display name">
              <label>
                New display name
                <input value={newName} onChange={(e) => setNewName(e.target.value)} minLength={3} maxLength={512} required />
              </label>
              <button type="submit" disabled={busy}>
                Request
              </button>
              <button type="button" onClick={() => load.reload()}>
                Refresh
              </button>
            </form>
            {(p.display_names ?? []).length > 0 && (
              <table className="table small" aria-label="Display name requests">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Review</th>
                    <th>Requested</th>
                  </tr>
                </thead>
                <tbody>
                  {(p.display_names ?? []).map((d) => (
                    <tr key={d.requested_at + d.name}>
                      <td>{d.name}</td>
                      <td>
                        <Badge kind={d.status === 'approved' ? 'ok' : d.status === 'declined' || d.status === 'failed' ? 'error' : 'warn'}>{d.status}</Badge>
                        {d.reason && <div className="small muted">{d.reason}</div>}
                      </td>
                      <td>{new Date(d.requested_at).toLocaleString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        </div>
      )}
    </Dialog>
  );
}
