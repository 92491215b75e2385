import { useState, type FormEvent } from 'react';
import { api, ApiError, type Schemas } from '../api/client';
import { limits } from '../api/limits';
import { Dialog, ErrorBanner, TabPanel, Tabs, useLoad } from '../components/ui';
import { GenerateFlow } from '../ai/GenerateFlow';

type Flow = Schemas['Flow'];

// The triggers a flow can start on. Whether an inbound trigger can work here
// is the server's to say: GET /chat-flow/node-types/ lists, on the start
// type, each trigger channel type and whether this build connects it (one it
// cannot is shown disabled, never hidden).
export const TRIGGERS: { id: string; label: string; trigger: Record<string, unknown> }[] = [
  { id: 'manual', label: 'Manual / API', trigger: { type: 'manual' } },
  { id: 'whatsapp', label: 'Inbound WhatsApp message', trigger: { type: 'inbound', channel_types: ['whatsapp'] } },
  { id: 'messenger', label: 'Inbound Messenger message', trigger: { type: 'inbound', channel_types: ['messenger'] } },
  { id: 'instagram', label: 'Inbound Instagram message', trigger: { type: 'inbound', channel_types: ['instagram'] } },
  { id: 'viber', label: 'Inbound Viber message', trigger: { type: 'inbound', channel_types: ['viber'] } },
  { id: 'webchat', label: 'Web chat visitor message', trigger: { type: 'inbound', channel_types: ['webchat'] } },
  { id: 'keyword', label: 'Keyword', trigger: { type: 'keyword', match: 'exact' } },
];

/** The graph of a new blank flow: Start (with the trigger) joined to End. */
export function blankGraph(trigger: Record<string, unknown>) {
  return {
    nodes: [
      { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger } },
      { id: 'end', type: 'end', position: { x: 0, y: 220 }, data: {} },
    ],
    edges: [{ id: 'e1', source: 'start', sourceHandle: 'next', target: 'end' }],
  };
}

type Tab = 'template' | 'blank' | 'import' | 'ai';

export function NewFlowDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (f: Flow) => void }) {
  const [tab, setTab] = useState<Tab>('template');
  const [name, setName] = useState('');
  const [trigger, setTrigger] = useState('whatsapp');
  const [keywords, setKeywords] = useState('');
  const [template, setTemplate] = useState('appointment_booking');
  const [file, setFile] = useState<File | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const templates = useLoad((signal) => api.get('/chat-flow/templates/', { signal }), []);
  const nodeTypes = useLoad((signal) => api.get('/chat-flow/node-types/', { signal }), []);
  const channelTypes = new Map((nodeTypes.data?.results?.find((t) => t.type === 'start')?.trigger_channel_types ?? []).map((c) => [c.type, c]));
  /** Why a trigger cannot work in this build, or '' when it can (or the server did not say). */
  const unavailable = (t: (typeof TRIGGERS)[number]) => {
    const types = (t.trigger.channel_types as string[] | undefined) ?? [];
    const off = types.map((c) => channelTypes.get(c)).find((c) => c && !c.available);
    return off ? off.unavailable_reason || `this server cannot connect ${off.type} channels` : '';
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      let f: Flow;
      if (tab === 'blank') {
        const t = { ...TRIGGERS.find((x) => x.id === trigger)!.trigger };
        if (t.type === 'keyword') t.keywords = keywords.split(',').map((k) => k.trim()).filter(Boolean);
        f = await api.post('/chat-flow/flows/', { body: { name: name.trim() || 'New flow', flow_data: blankGraph(t) } });
      } else if (tab === 'template') {
        f = await api.post('/chat-flow/flows/from-template/', { body: { template, name: name.trim() || undefined } });
      } else {
        if (!file) throw new ApiError(400, { detail: 'Choose a .json file exported from Parley (or a {nodes, edges} graph).' });
        let doc: unknown;
        try {
          doc = JSON.parse(await file.text());
        } catch {
          throw new ApiError(400, { detail: `${file.name} is not valid JSON.` });
        }
        f = await api.post('/chat-flow/flows/import/', { body: doc, query: { name: name.trim() || undefined } });
      }
      onCreated(f);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="New flow" onClose={onClose} wide>
      <Tabs
        label="How to start"
        idBase="new-flow"
        value={tab}
        onChange={setTab}
        items={[
          { id: 'template', label: 'From a template' },
          { id: 'blank', label: 'Blank canvas' },
          { id: 'import', label: 'Import JSON' },
          { id: 'ai', label: 'Generate with AI' },
        ]}
      />
      <TabPanel idBase="new-flow" value={tab}>
      {tab === 'ai' ? (
        <GenerateFlow onCreated={onCreated} onUseTemplate={() => setTab('template')} />
      ) : (
      <form onSubmit={submit}>
        <ErrorBanner error={error ?? templates.error} />
        <div className="field">
          <label htmlFor="nf-name">Flow name</label>
          <input id="nf-name" maxLength={limits.FlowCreateBody.name} value={name} onChange={(e) => setName(e.target.value)} placeholder={tab === 'blank' ? 'New flow' : 'Defaults to the template’s or file’s name'} />
        </div>
        {tab === 'template' && (
          <fieldset className="choices">
            <legend>Template</legend>
            {(templates.data?.results ?? []).map((t) => (
              <label key={t.id} className={`choice ${template === t.id ? 'selected' : ''}`}>
                <input type="radio" name="template" value={t.id} checked={template === t.id} onChange={() => setTemplate(t.id)} />
                <strong>{t.name}</strong>
                <span className="muted small">{t.description}</span>
              </label>
            ))}
          </fieldset>
        )}
        {tab === 'blank' && (
          <>
            <fieldset className="choices">
              <legend>What starts the flow?</legend>
              {TRIGGERS.map((t) => {
                const why = unavailable(t);
                return (
                  <label key={t.id} className={`choice ${trigger === t.id ? 'selected' : ''} ${why ? 'disabled' : ''}`}>
                    <input type="radio" name="trigger" value={t.id} checked={trigger === t.id} disabled={!!why} onChange={() => setTrigger(t.id)} title={why || undefined} />
                    <strong>{t.label}</strong>
                    {why && <span className="muted small">Unavailable in this build (no such channel can be connected)</span>}
                  </label>
                );
              })}
            </fieldset>
            {trigger === 'keyword' && (
              <div className="field">
                <label htmlFor="nf-keywords">Keywords (comma-separated)</label>
                <input id="nf-keywords" value={keywords} onChange={(e) => setKeywords(e.target.value)} placeholder="book, appointment" required />
              </div>
            )}
          </>
        )}
        {tab === 'import' && (
          <div className="field">
            <label htmlFor="nf-file">Flow file (.json)</label>
            <input id="nf-file" type="file" accept=".json,application/json" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
            <p className="hint">A file exported from Parley, a chat-flow API flow object, or a bare {'{nodes, edges}'} graph. Other tools’ step names are mapped.</p>
          </div>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {tab === 'import' ? 'Import flow' : 'Create flow'}
          </button>
        </div>
      </form>
      )}
      </TabPanel>
    </Dialog>
  );
}
