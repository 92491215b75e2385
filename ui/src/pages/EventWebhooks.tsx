// Settings → Event webhooks: subscribe URLs to Parley's events, see each
// delivery with its attempts, redeliver (docs/webhooks.md).
import { Fragment, useState, type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
import { useMe } from '../lib/auth';
import { Badge, CopyField, Dialog, Empty, ErrorBanner, Pager, timeAgo, useLoad, usePager, useToast } from '../components/ui';

type Sub = Schemas['EventSubscriptionView'];

export default function EventWebhooks() {
  const me = useMe();
  const owner = me.role === 'owner';
  const toast = useToast();
  const types = useLoad((signal) => api.get('/event-types/', { signal }), []);
  const subs = useLoad((signal) => api.get('/event-subscriptions/', { signal }), []);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['*']);
  const [description, setDescription] = useState('');
  const [fresh, setFresh] = useState<Sub | null>(null);
  const [open, setOpen] = useState<Sub | null>(null);
  const [deleting, setDeleting] = useState<Sub | null>(null);
  const [error, setError] = useState<unknown>(null);
  const all = events.includes('*');
  const toggle = (t: string) => {
    if (t === '*') return setEvents(all ? [] : ['*']);
    const rest = events.filter((e) => e !== '*');
    setEvents(rest.includes(t) ? rest.filter((e) => e !== t) : [...rest, t]);
  };
  const create = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const s = await api.post('/event-subscriptions/', { body: { url: url.trim(), events, description: description.trim() } });
      setFresh(s);
      setUrl('');
      setDescription('');
      subs.reload();
      toast('Subscription created');
    } catch (err) {
      setError(err);
    }
  };
  const setActive = async (s: Sub, active: boolean) => {
    try {
      await api.put('/event-subscriptions/{subscription_id}/', {
        path: { subscription_id: s.id },
        body: { url: s.url, events: s.events ?? [], description: s.description, active },
      });
      subs.reload();
    } catch (err) {
      setError(err);
    }
  };
  const rotate = async (s: Sub) => {
    try {
      setFresh(await api.post('/event-subscriptions/{subscription_id}/secret', { path: { subscription_id: s.id } }));
      toast('Secret replaced');
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (s: Sub) => {
    try {
      await api.del('/event-subscriptions/{subscription_id}/', { path: { subscription_id: s.id } });
      if (open?.id === s.id) setOpen(null);
      subs.reload();
    } catch (err) {
      setError(err);
    }
    setDeleting(null);
  };
  const list = subs.data?.results ?? [];
  return (
    <section className="panel" aria-labelledby="hooks-h">
      <h2 id="hooks-h">Event webhooks</h2>
      <p className="muted small">
        Parley POSTs the events you choose to your URL as JSON signed with the subscription’s secret (header{' '}
        <code>Parley-Signature: t=…,v1=…</code>), in order per contact, retried for 24 hours. See docs/webhooks.md for verification code.
      </p>
      <ErrorBanner error={error ?? subs.error ?? types.error} onDismiss={() => setError(null)} />
      {owner && (
        <form className="stack" onSubmit={create} aria-label="Add subscription">
          <div className="row gap">
            <label htmlFor="hook-url">Endpoint URL</label>
            <input id="hook-url" type="url" placeholder="https://example.com/parley-events" value={url} onChange={(e) => setUrl(e.target.value)} required size={40} />
            <label htmlFor="hook-desc">Description</label>
            <input id="hook-desc" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={500} />
          </div>
          <fieldset className="row gap wrap">
            <legend>Events</legend>
            <label>
              <input type="checkbox" checked={all} onChange={() => toggle('*')} /> Every event
            </label>
            {(types.data ?? []).map((t) => (
              <label key={t.type} title={t.description}>
                <input type="checkbox" checked={all || events.includes(t.type)} disabled={all} onChange={() => toggle(t.type)} /> {t.type}
              </label>
            ))}
          </fieldset>
          <div>
            <button type="submit" disabled={events.length === 0}>
              Add subscription
            </button>
          </div>
        </form>
      )}
      {fresh?.secret && (
        <div className="secret-box" role="status">
          <CopyField label={`Signing secret for ${fresh.url} (shown once)`} value={fresh.secret} />
          <p className="hint">Copy it into your receiver now: Parley stores it sealed and cannot show it again.</p>
        </div>
      )}
      {!subs.loading && list.length === 0 ? (
        <Empty title="No event webhooks">Add a URL to receive Parley’s events.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>URL</th>
              <th>Events</th>
              <th>Status</th>
              <th>Created</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.id}>
                <td>
                  <code>{s.url}</code>
                  {s.description && <div className="small muted">{s.description}</div>}
                </td>
                <td className="small">{(s.events ?? []).join(', ') === '*' ? 'every event' : (s.events ?? []).join(', ')}</td>
                <td>
                  <Badge kind={s.active ? 'ok' : 'muted'}>{s.active ? 'active' : 'paused'}</Badge>
                </td>
                <td className="small">{timeAgo(s.created_at)}</td>
                <td className="actions">
                  <button type="button" onClick={() => setOpen(s)} aria-label={`Deliveries of ${s.url}`}>
                    Deliveries
                  </button>
                  {owner && (
                    <>
                      <button type="button" onClick={() => void setActive(s, !s.active)}>
                        {s.active ? 'Pause' : 'Resume'}
                      </button>
                      <button type="button" onClick={() => void rotate(s)}>
                        New secret
                      </button>
                      <button type="button" className="danger" onClick={() => setDeleting(s)} aria-label={`Delete ${s.url}`}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {open && <Deliveries sub={open} onClose={() => setOpen(null)} />}
      {deleting && (
        <Dialog title="Delete this subscription?" onClose={() => setDeleting(null)}>
          <p>
            <code>{deleting.url}</code> receives nothing more; its delivery log is deleted.
          </p>
          <div className="dialog-actions">
            <button type="button" onClick={() => setDeleting(null)}>
              Cancel
            </button>
            <button type="button" className="danger" onClick={() => void remove(deleting)}>
              Delete subscription
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}

const stateKind: Record<string, string> = { delivered: 'ok', pending: 'warn', failed: 'error' };

function Deliveries({ sub, onClose }: { sub: Sub; onClose: () => void }) {
  const pager = usePager();
  const list = useLoad(
    (signal) =>
      api.get('/event-subscriptions/{subscription_id}/deliveries/', { path: { subscription_id: sub.id }, query: { cursor: pager.cursor || undefined }, signal }),
    [sub.id, pager.cursor],
  );
  const [shown, setShown] = useState<string | null>(null);
  const items = list.data?.results ?? [];
  return (
    <div className="panel" aria-label="Deliveries">
      <div className="row gap">
        <h3>Deliveries to {sub.url}</h3>
        <button type="button" onClick={() => list.reload()}>
          Refresh
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorBanner error={list.error} />
      {!list.loading && items.length === 0 ? (
        <Empty title="No deliveries yet">Events appear here as they happen (send a message to a channel of this project).</Empty>
      ) : (
        <table className="table" aria-label="Delivery log">
          <thead>
            <tr>
              <th>Event</th>
              <th>State</th>
              <th>Attempts</th>
              <th>Last answer</th>
              <th>Next try</th>
              <th>Created</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <Fragment key={d.id}>
                <tr className="delivery-row">
                  <td>
                    <code>{d.event_type}</code>
                  </td>
                  <td>
                    <Badge kind={stateKind[d.state] ?? 'muted'}>{d.state}</Badge>
                  </td>
                  <td>{d.attempts}</td>
                  <td className="small">{d.last_status ? `HTTP ${d.last_status}` : d.last_error || '—'}</td>
                  <td className="small">{d.next_attempt_at ? new Date(d.next_attempt_at).toLocaleTimeString() : '—'}</td>
                  <td className="small">{timeAgo(d.created_at)}</td>
                  <td className="actions">
                    <button type="button" onClick={() => setShown(shown === d.id ? null : d.id)}>
                      {shown === d.id ? 'Hide' : 'Attempts'}
                    </button>
                  </td>
                </tr>
                {shown === d.id && (
                  <tr>
                    <td colSpan={7}>
                      <DeliveryDetail id={d.id} onChange={() => list.reload()} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      <Pager pager={pager} nextCursor={list.data?.next_cursor} />
    </div>
  );
}

function DeliveryDetail({ id, onChange }: { id: string; onChange: () => void }) {
  const toast = useToast();
  const d = useLoad((signal) => api.get('/event-deliveries/{delivery_id}/', { path: { delivery_id: id }, signal }), [id]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const redeliver = async () => {
    setBusy(true);
    try {
      const a = await api.post('/event-deliveries/{delivery_id}/redeliver', { path: { delivery_id: id } });
      toast(a.error ? `Redelivery failed: ${a.error}` : `Redelivered: HTTP ${a.status_code}`);
      d.reload();
      onChange();
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  if (!d.data) return <ErrorBanner error={d.error} />;
  return (
    <div className="stack" aria-label="Delivery detail">
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <details>
        <summary>Request body</summary>
        <pre className="code">{JSON.stringify(d.data.payload, null, 2)}</pre>
      </details>
      <table className="table small" aria-label="Attempts">
        <thead>
          <tr>
            <th>When</th>
            <th>Answer</th>
            <th>Body excerpt</th>
            <th>Time</th>
            <th>Signature</th>
          </tr>
        </thead>
        <tbody>
          {(d.data.attempt_log ?? []).map((a) => (
            <tr key={a.id} className="attempt-row">
              <td>
                {new Date(a.started_at).toLocaleString()}
                {a.manual && ' (manual)'}
              </td>
              <td>{a.status_code ? `HTTP ${a.status_code}` : a.error}</td>
              <td>
                <code>{a.response_excerpt.slice(0, 200)}</code>
              </td>
              <td>{a.duration_ms} ms</td>
              <td>
                <code className="small">{a.signature}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div>
        <button type="button" onClick={() => void redeliver()} disabled={busy}>
          {busy ? 'Sending…' : 'Redeliver now'}
        </button>
      </div>
    </div>
  );
}
