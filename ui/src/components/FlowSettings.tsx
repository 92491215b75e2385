import { useEffect, useState, type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
import { limits } from '../api/limits';
import { Dialog, ErrorBanner, Field } from './ui';

type Flow = Schemas['Flow'];

/** The flow's settings: name, remark, bound channel (only while not published), logging, expiry, retrigger. */
export function FlowSettingsDialog({ flow, onClose, onSaved }: { flow: Flow; onClose: () => void; onSaved: (f: Flow) => void }) {
  const [name, setName] = useState(flow.name);
  const [remark, setRemark] = useState(flow.remark);
  const [channelId, setChannelId] = useState(flow.channel_id);
  const [logging, setLogging] = useState(flow.logging);
  const [expiryHours, setExpiryHours] = useState(String(flow.expire_after_seconds / 3600));
  const [retrigger, setRetrigger] = useState(flow.on_retrigger);
  const [chans, setChans] = useState<Schemas['ChannelView'][] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const published = flow.status === 'published';
  // The channel types the trigger listens on (a story trigger: Instagram;
  // conversation_started: Viber); the flow can be bound to one account of them.
  const implicit: Record<string, string> = { story: 'instagram', conversation_started: 'viber' };
  const trig = flow.trigger;
  const types = trig?.channel_types?.length ? trig.channel_types : trig?.type && implicit[trig.type] ? [implicit[trig.type]] : [];
  const bindable = (chans ?? []).filter((c) => types.length === 0 || types.includes(c.type));

  useEffect(() => {
    api.get('/channels/').then((p) => setChans(p.results ?? []), () => setChans(null));
  }, []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Schemas['FlowUpdateInputBody'] = {
        version: flow.version,
        name: name.trim(),
        remark,
        logging,
        on_retrigger: retrigger,
        expire_after_seconds: Math.round(Number(expiryHours) * 3600),
      };
      if (!published) body.channel_id = channelId.trim();
      const f = await api.put('/chat-flow/flows/{flow_id}/', { path: { flow_id: flow.id }, body });
      onSaved(f);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="Flow settings" onClose={onClose}>
      <form onSubmit={submit}>
        <ErrorBanner error={error} />
        <div className="field">
          <label htmlFor="fs-name">Name</label>
          <input id="fs-name" maxLength={limits.FlowUpdateInputBody.name} value={name} onChange={(e) => setName(e.target.value)} required />
        </div>
        <div className="field">
          <label htmlFor="fs-remark">Remark</label>
          <textarea id="fs-remark" maxLength={limits.FlowUpdateInputBody.remark} value={remark} onChange={(e) => setRemark(e.target.value)} rows={2} />
        </div>
        <Field
          label="Bind account"
          hint={
            <>
              {types.length
                ? `The trigger listens on ${types.join(', ')}: bound to one account, it starts only for messages to that account.`
                : 'Bound to one channel, the trigger fires only for messages to that channel.'}{' '}
              {published && 'Unpublish the flow to change its account.'}
            </>
          }
        >
          {(p) =>
            chans ? (
              <select {...p} value={channelId} disabled={published} onChange={(e) => setChannelId(e.target.value)}>
                <option value="">{types.length ? `Every ${types.join(' / ')} account` : 'All channels'}</option>
                {bindable.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name} ({c.type})
                  </option>
                ))}
                {channelId && !bindable.some((c) => c.id === channelId) && <option value={channelId}>{chans.find((c) => c.id === channelId)?.name ?? channelId} (not a {types.join(' / ')} account)</option>}
              </select>
            ) : (
              <input {...p} maxLength={limits.FlowUpdateInputBody.channel_id} value={channelId} disabled={published} placeholder="channel ID (empty: all)" onChange={(e) => setChannelId(e.target.value)} />
            )
          }
        </Field>
        <div className="field checkbox">
          <input id="fs-logging" type="checkbox" checked={logging} onChange={(e) => setLogging(e.target.checked)} />
          <label htmlFor="fs-logging">Record each session’s trace (logging)</label>
        </div>
        <div className="field">
          <label htmlFor="fs-expiry">Sessions expire after (hours)</label>
          <input id="fs-expiry" type="number" min={1 / 60} max={2160} step="any" value={expiryHours} onChange={(e) => setExpiryHours(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="fs-retrigger">When a contact already in the flow triggers it again</label>
          <select id="fs-retrigger" value={retrigger} onChange={(e) => setRetrigger(e.target.value as Flow['on_retrigger'])}>
            <option value="ignore">Ignore the trigger</option>
            <option value="restart">Restart the session</option>
          </select>
        </div>
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Save settings
          </button>
        </div>
      </form>
    </Dialog>
  );
}
