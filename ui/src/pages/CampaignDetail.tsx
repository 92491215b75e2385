import { useEffect, useState } from 'react';
import { api } from '../api/client';
import { canEdit, useMe } from '../lib/auth';
import { Link, navigate, useTitle } from '../lib/router';
import { Badge, ErrorBanner, useLoad, TabPanel, Tabs, useToast } from '../components/ui';
import { blankGraph } from './NewFlow';
import { campaignsApi, itemsOf, type Campaign } from '../campaigns/types';
import { DatasetsTab } from '../campaigns/DatasetsTab';
import { StartTab } from '../campaigns/StartTab';
import { ProgressTab } from '../campaigns/ProgressTab';
import { ReportTab } from '../campaigns/ReportTab';

const TABS = [
  ['setup', 'Setup'],
  ['contacts', 'Contacts'],
  ['start', 'Checklist & start'],
  ['progress', 'Progress'],
  ['report', 'Report'],
] as const;
type Tab = (typeof TABS)[number][0];

/** One campaign: its setup, contacts (datasets), checklist and start, live progress and report, as tabs. */
export default function CampaignDetail({ campaignId }: { campaignId: string }) {
  const loaded = useLoad((signal) => campaignsApi.get(campaignId, signal), [campaignId]);
  // "Loading…" is for the first load only: the live refreshes (progress,
  // a status change) keep the page as it is, even one that fails.
  const [shown, setShown] = useState<Campaign>();
  useEffect(() => {
    if (loaded.data) setShown(loaded.data);
  }, [loaded.data]);
  const c = loaded.data ?? shown;
  useTitle(c ? `Campaign ${c.name}` : 'Campaign');
  const hashTab = (window.location.hash.slice(1) || '') as Tab;
  const [tab, setTabState] = useState<Tab>(TABS.some(([t]) => t === hashTab) ? hashTab : 'setup');
  const setTab = (t: Tab) => {
    setTabState(t);
    window.history.replaceState(null, '', `#${t}`);
  };
  if (!c) return loaded.error ? <div className="page"><ErrorBanner error={loaded.error} /></div> : <div className="loading">Loading…</div>;
  return (
    <div className="page">
      <ErrorBanner error={loaded.error} />
      <div className="page-head">
        <Link to="/campaigns">Campaigns</Link> <span className="muted">/</span>
        <h1>{c.name}</h1>
        <Badge kind={`c-${c.status}`}>{c.status}</Badge>
        {c.status_reason && <span className="muted small">{c.status_reason}</span>}
      </div>
      <Tabs label="Campaign" idBase="campaign" value={tab} onChange={setTab} items={TABS.map(([id, label]) => ({ id, label }))} />
      <TabPanel idBase="campaign" value={tab}>
      {tab === 'setup' && <SetupTab campaign={c} onSaved={(n) => loaded.setData(n)} />}
      {tab === 'contacts' && <DatasetsTab campaign={c} onChanged={(n) => loaded.setData(n)} />}
      {tab === 'start' && <StartTab campaign={c} onStarted={() => { loaded.reload(); setTab('progress'); }} onTab={setTab} />}
      {tab === 'progress' && <ProgressTab campaign={c} onChanged={() => loaded.reload()} onReport={() => setTab('report')} />}
      {tab === 'report' && <ReportTab campaign={c} />}
      </TabPanel>
    </div>
  );
}

const toLocal = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(0, 16) : '');
const fromLocal = (v: string) => (v ? new Date(v + 'Z').toISOString() : null);

function SetupTab({ campaign, onSaved }: { campaign: Campaign; onSaved: (c: Campaign) => void }) {
  const me = useMe();
  const toast = useToast();
  const editor = canEdit(me);
  const [name, setName] = useState(campaign.name);
  const [description, setDescription] = useState(campaign.description);
  const [startAt, setStartAt] = useState(toLocal(campaign.start_at));
  const [endAt, setEndAt] = useState(toLocal(campaign.end_at));
  const [flowId, setFlowId] = useState(campaign.flow_id);
  const [channelIds, setChannelIds] = useState<string[]>(campaign.channel_ids ?? []);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setFlowId(campaign.flow_id), [campaign.flow_id]);
  const flows = useLoad((signal) => api.get('/chat-flow/flows/', { query: { limit: 100 }, signal }), []);
  const channels = useLoad((signal) => api.get('/channels/', { signal }), []);
  const chList = itemsOf(channels.data as never) as { id: string; name: string; type: string; status?: string }[];
  const types = [...new Set(chList.map((c) => c.type))].sort();
  const flowList = flows.data?.results ?? [];
  const chosen = flowList.find((f) => f.id === flowId);

  const body = (over: Partial<Campaign> = {}): Partial<Campaign> => ({
    name,
    description,
    flow_id: flowId,
    channel_ids: channelIds,
    dataset_ids: campaign.dataset_ids ?? [],
    start_at: fromLocal(startAt),
    end_at: fromLocal(endAt),
    version: campaign.version,
    ...over,
  });
  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      const n = await campaignsApi.update(campaign.id, body());
      onSaved(n);
      toast('Campaign saved');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  // "New flow": a blank flow whose Start has the campaign trigger, chosen for this campaign, opened on the canvas.
  const newFlow = async () => {
    setBusy(true);
    setError(null);
    try {
      const f = await api.post('/chat-flow/flows/', { body: { name: `${name} flow`, flow_data: blankGraph({ type: 'campaign' }) } });
      await campaignsApi.update(campaign.id, body({ flow_id: f.id }));
      navigate(`/flows/${f.id}`);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const trig = (chosen?.trigger ?? {}) as { type?: string };
  return (
    <div className="campaign-setup">
      <ErrorBanner error={error ?? flows.error ?? channels.error} onDismiss={() => setError(null)} />
      <section className="card">
        <h3>About</h3>
        <div className="field">
          <label htmlFor="cs-name">Name</label>
          <input id="cs-name" value={name} onChange={(e) => setName(e.target.value)} disabled={!editor} />
        </div>
        <div className="field">
          <label htmlFor="cs-desc">Description</label>
          <textarea id="cs-desc" rows={2} value={description} onChange={(e) => setDescription(e.target.value)} disabled={!editor} />
        </div>
        <div className="row gap">
          <div className="field grow">
            <label htmlFor="cs-start">Start date (UTC, optional)</label>
            <input id="cs-start" type="datetime-local" value={startAt} onChange={(e) => setStartAt(e.target.value)} disabled={!editor} />
          </div>
          <div className="field grow">
            <label htmlFor="cs-end">End date (UTC, optional)</label>
            <input id="cs-end" type="datetime-local" value={endAt} onChange={(e) => setEndAt(e.target.value)} disabled={!editor} />
          </div>
        </div>
        <p className="hint">Nothing starts before the start date; at the end date the execution stops and the campaign completes.</p>
      </section>
      <section className="card">
        <h3>Flow</h3>
        <div className="row gap">
          <div className="field grow">
            <label htmlFor="cs-flow">The flow each contact goes through</label>
            <select id="cs-flow" value={flowId} onChange={(e) => setFlowId(e.target.value)} disabled={!editor}>
              <option value="">— choose a flow —</option>
              {flowList.map((f) => (
                <option key={f.id} value={f.id}>
                  {f.name} ({f.status}
                  {(f.trigger as { type?: string } | undefined)?.type === 'campaign' ? ', campaign trigger' : ''})
                </option>
              ))}
            </select>
          </div>
          {editor && (
            <button type="button" onClick={() => void newFlow()} disabled={busy}>
              New flow
            </button>
          )}
        </div>
        {chosen && (
          <p className="hint">
            <Link to={`/flows/${chosen.id}`}>Open “{chosen.name}” on the canvas</Link>
            {trig.type !== 'campaign' && <span className="warn-text"> — its Start does not have the campaign trigger yet.</span>}
            {chosen.status !== 'published' && <span className="warn-text"> — publish it before starting.</span>}
          </p>
        )}
      </section>
      <section className="card">
        <h3>Channels</h3>
        {chList.length === 0 && !channels.loading && (
          <p className="muted">
            No channel yet. <Link to="/channels">Connect a WhatsApp number</Link>.
          </p>
        )}
        {types.map((t) => (
          <fieldset key={t} className="choices">
            <legend>{t === 'whatsapp' ? 'WhatsApp numbers' : t}</legend>
            {chList
              .filter((c) => c.type === t)
              .map((ch) => (
                <label key={ch.id} className="field checkbox">
                  <input
                    type="checkbox"
                    checked={channelIds.includes(ch.id)}
                    disabled={!editor}
                    onChange={(e) => setChannelIds((ids) => (e.target.checked ? [...ids, ch.id] : ids.filter((x) => x !== ch.id)))}
                  />
                  {ch.name}
                </label>
              ))}
          </fieldset>
        ))}
        <p className="hint">Sends are spread over the chosen numbers of each type, each within its own rate limit.</p>
      </section>
      {editor && (
        <div className="row gap">
          <button type="button" className="primary" onClick={() => void save()} disabled={busy || !name.trim()}>
            Save
          </button>
        </div>
      )}
    </div>
  );
}
