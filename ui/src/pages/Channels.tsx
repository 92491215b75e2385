import { Fragment, useState, type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
import { limits } from '../api/limits';
import { canEdit, useMe } from '../lib/auth';
import { useTitle } from '../lib/router';
import { Badge, CopyField, Dialog, Empty, ErrorBanner, useLoad, useToast } from '../components/ui';
import { ChannelLogList, DeadLetters } from '../components/ChannelLog';
import { EmbeddedSignup, ProfileDialog } from './WhatsAppNumber';

type Channel = Schemas['ChannelView'];
type Check = Schemas['CheckReport'];

type ChannelType = Schemas['ChannelTypeView'];
type Field = Schemas['ConfigField'];

// The form's fields come from GET /channel-types/: each type declares its
// settings (type, label, required, secret, default, help), so a new channel
// type needs no change here.
const fieldsOf = (t?: ChannelType): Field[] => t?.fields ?? [];

const isSandbox = (c: Channel) => typeof c.config?.api_base_url === 'string' && !/graph\.facebook\.com/.test(c.config.api_base_url as string) && c.type === 'whatsapp';

export default function Channels() {
  useTitle('Channels');
  const me = useMe();
  const owner = me.role === 'owner';
  const toast = useToast();
  const list = useLoad((signal) => api.get('/channels/', { signal }), []);
  const types = useLoad((signal) => api.get('/channel-types/', { signal }), []);
  const typeList = types.data?.results ?? [];
  const typeOf = (name: string) => typeList.find((t) => t.name === name);
  const [editing, setEditing] = useState<{ type: ChannelType; channel?: Channel } | null>(null);
  const [created, setCreated] = useState<Channel | null>(null);
  const [removing, setRemoving] = useState<Channel | null>(null);
  const [checks, setChecks] = useState<Record<string, Check | 'busy'>>({});
  const [error, setError] = useState<unknown>(null);
  const [viewing, setViewing] = useState<{ channel: Channel; what: 'logs' | 'dead' } | null>(null);
  const [profileOf, setProfileOf] = useState<Channel | null>(null);
  const rows = list.data?.results ?? [];

  const check = async (c: Channel) => {
    setChecks((x) => ({ ...x, [c.id]: 'busy' }));
    try {
      const r = await api.post('/channels/{channel_id}/check/', { path: { channel_id: c.id } });
      setChecks((x) => ({ ...x, [c.id]: r }));
    } catch (e) {
      setChecks((x) => {
        const { [c.id]: _, ...rest } = x;
        return rest;
      });
      setError(e);
    }
  };
  const remove = async (c: Channel) => {
    try {
      await api.del('/channels/{channel_id}/', { path: { channel_id: c.id } });
      toast(`Removed ${c.name}`);
      list.reload();
    } catch (e) {
      setError(e);
    }
    setRemoving(null);
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Channels</h1>
        <div className="spacer" />
        {owner && <EmbeddedSignup onConnected={() => list.reload()} />}
        {owner &&
          typeList.map((t) => (
            <button key={t.name} type="button" className={fieldsOf(t).length > 0 ? 'primary' : ''} onClick={() => setEditing({ type: t })}>
              Add {t.label}
            </button>
          ))}
      </div>
      <ErrorBanner error={error ?? list.error ?? types.error} onDismiss={() => setError(null)} />
      {!list.loading && !list.error && rows.length === 0 && (
        <Empty title="No channels yet">
          <p>
            Connect a WhatsApp number with the credentials from Meta’s developer console. To try everything without Meta, start the server with{' '}
            <code>parley serve --sandbox</code>: it adds a ready “Sandbox WhatsApp” channel here.
          </p>
        </Empty>
      )}
      {rows.map((c) => {
        const ck = checks[c.id];
        return (
          <section key={c.id} className="panel" aria-label={`Channel ${c.name}`}>
            <div className="row">
              <h3>{c.name}</h3>
              <Badge kind="">{c.type}</Badge>
              {isSandbox(c) && <Badge kind="draft">sandbox</Badge>}
              <Badge kind={c.status === 'active' ? 'ok' : 'unpublished'}>{c.status}</Badge>
              <div className="spacer" />
              <button type="button" onClick={() => void check(c)} disabled={ck === 'busy'}>
                {ck === 'busy' ? 'Checking…' : 'Check connection'}
              </button>
              {c.type === 'whatsapp' && (
                <button type="button" onClick={() => setProfileOf(c)} aria-label={`Profile of ${c.name}`}>
                  Profile
                </button>
              )}
              <button type="button" onClick={() => setViewing({ channel: c, what: 'logs' })} aria-label={`Logs of ${c.name}`}>
                Logs
              </button>
              <button type="button" onClick={() => setViewing({ channel: c, what: 'dead' })} aria-label={`Dead letters of ${c.name}`}>
                Dead letters
              </button>
              {owner && (
                <>
                  <button
                    type="button"
                    onClick={() => setEditing({ type: typeOf(c.type) ?? { name: c.type, label: c.type, fields: [], webhooks: false }, channel: c })}
                    aria-label={`Edit ${c.name}`}
                  >
                    Edit
                  </button>
                  <button type="button" className="danger" onClick={() => setRemoving(c)} aria-label={`Remove ${c.name}`}>
                    Remove
                  </button>
                </>
              )}
            </div>
            <dl className="kv">
              {c.address && !fieldsOf(typeOf(c.type)).some((f) => c.config?.[f.name] === c.address) && (
                <>
                  <dt>Address</dt>
                  <dd>{c.address}</dd>
                </>
              )}
              {fieldsOf(typeOf(c.type))
                .filter((f) => !f.secret && c.config?.[f.name] !== undefined && c.config?.[f.name] !== '')
                .map((f) => (
                  <Fragment key={f.name}>
                    <dt>{f.label}</dt>
                    <dd>{String(c.config?.[f.name])}</dd>
                  </Fragment>
                ))}
            </dl>
            {c.webhook_url && (
              <CopyField label={c.type === 'viber' ? 'Webhook URL (registered with Viber when saved)' : 'Webhook URL (callback URL in Meta’s webhook settings)'} value={c.webhook_url} />
            )}
            {typeof c.config?.verify_token === 'string' && c.config.verify_token && <CopyField label="Verify token" value={c.config.verify_token} />}
            {c.widget_snippet && <WidgetInfo channel={c} />}
            {isSandbox(c) && (
              <p className="hint">
                Talk to your flows as a customer: <code>parley sandbox send --to-channel {c.id} --from 15551234567 --text hi</code>
              </p>
            )}
            {ck && ck !== 'busy' && (
              <div role="status" aria-label="Connection check">
                <strong className={ck.ok ? '' : 'error-text'}>{ck.ok ? 'Connection works' : 'Connection failed'}</strong>
                <ul className="small">
                  {(ck.steps ?? []).map((s, i) => (
                    <li key={i}>
                      {s.ok ? '✓' : '✗'} {s.name}
                      {s.detail && <span className="muted"> — {s.detail}</span>}
                    </li>
                  ))}
                </ul>
              </div>
            )}
          </section>
        );
      })}
      {editing && (
        <ChannelDialog
          type={editing.type}
          channel={editing.channel}
          onClose={() => setEditing(null)}
          onSaved={(c, isNew) => {
            setEditing(null);
            list.reload();
            if (isNew) setCreated(c);
            else toast('Channel saved');
          }}
        />
      )}
      {created && (
        <Dialog title={`${created.name} is connected`} onClose={() => setCreated(null)}>
          {created.type === 'whatsapp' ? (
            <>
              <p>In Meta’s developer console, open WhatsApp › Configuration › Webhook and paste:</p>
              {created.webhook_url && <CopyField label="Callback URL" value={created.webhook_url} />}
              <CopyField label="Verify token" value={String(created.config?.verify_token ?? '')} />
              <p className="hint">Then subscribe to the “messages” field. Use “Check connection” to confirm the credentials.</p>
            </>
          ) : created.type === 'messenger' || created.type === 'instagram' ? (
            <>
              <p>In the Meta app’s {created.type === 'messenger' ? 'Messenger' : 'Instagram'} settings, under Configure webhooks, paste:</p>
              {created.webhook_url && <CopyField label="Callback URL" value={created.webhook_url} />}
              <CopyField label="Verify token" value={String(created.config?.verify_token ?? '')} />
              <p className="hint">
                Then subscribe to {created.type === 'messenger' ? '“messages”, “messaging_postbacks”, “message_deliveries” and “message_reads”' : '“messages”, “messaging_postbacks” and “messaging_seen”'}.
                docs/channels.md has every step.
              </p>
            </>
          ) : created.type === 'viber' ? (
            <>
              <p>Viber now sends this bot’s messages to Parley: its webhook was registered with set_webhook.</p>
              {created.webhook_url && <CopyField label="Webhook URL" value={created.webhook_url} />}
            </>
          ) : created.widget_snippet ? (
            <>
              <p>The web chat channel is ready. Add this to the pages of your site, before &lt;/body&gt;:</p>
              <WidgetInfo channel={created} />
            </>
          ) : (
            <p>The {created.type} channel is ready.</p>
          )}
          <div className="dialog-actions">
            <button type="button" className="primary" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </Dialog>
      )}
      {viewing && (
        <Dialog wide title={`${viewing.what === 'logs' ? 'Log' : 'Dead letters'} of ${viewing.channel.name}`} onClose={() => setViewing(null)}>
          {viewing.what === 'logs' ? <ChannelLogList channelId={viewing.channel.id} /> : <DeadLetters channelId={viewing.channel.id} canReplay={canEdit(me)} />}
        </Dialog>
      )}
      {profileOf && <ProfileDialog channelId={profileOf.id} onClose={() => setProfileOf(null)} />}
      {removing && (
        <Dialog title={`Remove ${removing.name}?`} onClose={() => setRemoving(null)}>
          <p>Messages stop flowing through this channel. Flows bound to it must be unpublished first. This cannot be undone.</p>
          <div className="dialog-actions">
            <button type="button" onClick={() => setRemoving(null)}>
              Cancel
            </button>
            <button type="button" className="danger" onClick={() => void remove(removing)}>
              Remove channel
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}

// WidgetInfo shows how to embed a web chat channel and links to the page
// Parley serves with its widget, to try it.
function WidgetInfo({ channel }: { channel: Channel }) {
  return (
    <div className="widget-info">
      <CopyField label="Embed on your site" value={channel.widget_snippet ?? ''} />
      <p className="hint">
        Only pages at the allowed origins may use it (Parley’s own test page always may).{' '}
        <a href={`/webchat/${encodeURIComponent(channel.id)}/test`} target="_blank" rel="noreferrer" aria-label={`Open the test page of ${channel.name}`}>
          Open the test page
        </a>{' '}
        to chat with your published flows as a visitor.
      </p>
    </div>
  );
}

function ChannelDialog({ type, channel, onClose, onSaved }: { type: ChannelType; channel?: Channel; onClose: () => void; onSaved: (c: Channel, isNew: boolean) => void }) {
  const fields = fieldsOf(type);
  const [name, setName] = useState(channel?.name ?? type.label);
  const [cfg, setCfg] = useState<Record<string, string>>(() => {
    const out: Record<string, string> = {};
    for (const f of fields) {
      const v = channel?.config?.[f.name];
      out[f.name] = v === undefined || v === null || (f.secret && channel) ? '' : String(v);
    }
    return out;
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const config: Record<string, unknown> = {};
      for (const f of fields) {
        const v = cfg[f.name]?.trim();
        if (!v) continue; // empty: the default, or (secrets, when editing) the stored value
        config[f.name] = f.type === 'number' || f.type === 'integer' ? Number(v) : f.type === 'boolean' ? v === 'true' : v;
      }
      const withConfig = fields.length > 0 ? { config } : {};
      const c = channel
        ? await api.put('/channels/{channel_id}/', { path: { channel_id: channel.id }, body: { name: name.trim(), ...withConfig } })
        : await api.post('/channels/', { body: { type: type.name, name: name.trim(), ...withConfig } });
      onSaved(c, !channel);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={channel ? `Edit ${channel.name}` : `Add ${type.label}`} onClose={onClose}>
      <form onSubmit={submit}>
        <ErrorBanner error={error} />
        <div className="field">
          <label htmlFor="ch-name">Name</label>
          <input id="ch-name" value={name} maxLength={limits.ChannelCreateInputBody.name} onChange={(e) => setName(e.target.value)} required />
        </div>
        {fields.map((f) => (
          <div className="field" key={f.name}>
            <label htmlFor={`ch-${f.name}`}>{f.label}</label>
            {f.type === 'boolean' ? (
              <input
                id={`ch-${f.name}`}
                type="checkbox"
                checked={cfg[f.name] === 'true' || (cfg[f.name] === '' && f.default === true)}
                onChange={(e) => setCfg({ ...cfg, [f.name]: String(e.target.checked) })}
              />
            ) : (
              <input
                id={`ch-${f.name}`}
                type={f.secret ? 'password' : f.type === 'number' || f.type === 'integer' ? 'number' : 'text'}
                step={f.type === 'integer' ? 1 : f.type === 'number' ? 'any' : undefined}
                autoComplete="off"
                value={cfg[f.name]}
                placeholder={channel && f.secret ? 'unchanged (stored encrypted)' : f.default !== undefined && f.default !== null ? `Default ${String(f.default)}` : undefined}
                required={f.required && !(channel && f.secret)}
                onChange={(e) => setCfg({ ...cfg, [f.name]: e.target.value })}
              />
            )}
            {f.help && <p className="hint">{f.help}</p>}
          </div>
        ))}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {channel ? 'Save' : 'Connect'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
