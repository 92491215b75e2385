// WhatsApp Flows with AI: "Generate with AI" (a description → a valid Flow
// JSON saved as a DRAFT, opened in the editor), "Update with AI" (an
// instruction → the changed flow, same ID and Meta Flow ID) and "Explain
// problems" (Parley's validator and Meta's errors in words). Nothing here
// sends anything to Meta: that is Sync / Publish, as always.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, rawRequest, type Schemas } from '../api/client';
import { Dialog, ErrorBanner, useLoad, useToast } from '../components/ui';
import { navigate } from '../lib/router';
import { AIProgress, addProgress } from './Progress';
import { NoProvider, isNoProvider } from './NoProvider';
import { postStream, type Progress } from './sse';
import { ProviderSelect } from './ProviderSelect';
import type { FormCheck, FormResult } from './types';

type WAFlow = Schemas['WhatsAppFlowView'];
const CATEGORIES = ['SIGN_UP', 'SIGN_IN', 'APPOINTMENT_BOOKING', 'LEAD_GENERATION', 'CONTACT_US', 'CUSTOMER_SUPPORT', 'SURVEY', 'OTHER'];

function useFormStream() {
  const [steps, setSteps] = useState<Progress[]>([]);
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<FormResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);
  const run = async (url: string, body: unknown) => {
    const ac = new AbortController();
    abort.current = ac;
    setRunning(true);
    setSteps([]);
    setResult(null);
    setError(null);
    try {
      const r = await postStream<FormResult>(url, body, (p) => setSteps((s) => addProgress(s, p)), ac.signal);
      setResult(r.data);
      return r.data;
    } catch (err) {
      if ((err as Error).name !== 'AbortError') setError(err);
      return null;
    } finally {
      setRunning(false);
    }
  };
  return { steps, running, result, error, setError, run, stop: () => abort.current?.abort() };
}

/** The best attempt of a generation that did not validate: its errors, never shown as ready. */
function NotReady({ result, onSaveAnyway, saveLabel }: { result: FormResult; onSaveAnyway: () => void; saveLabel: string }) {
  return (
    <section className="ai-draft" aria-label="Best attempt">
      <div className="ai-status ai-status-has_problems" role="status">
        <strong>Not saved: the Flow JSON still has problems</strong> <span className="small">— {result.note}</span>
      </div>
      <ul className="ai-problems">
        {result.problems.map((p, i) => (
          <li key={i} className={p.severity === 'warning' ? 'warning' : 'error'}>
            {p.line_start ? `Line ${p.line_start}: ` : ''}
            {p.pointer && <code>{p.pointer}</code>} {p.message}
          </li>
        ))}
      </ul>
      <details>
        <summary>The Flow JSON of the attempt</summary>
        <pre className="mono small">{result.flow_json}</pre>
      </details>
      <div className="dialog-actions">
        <button type="button" onClick={onSaveAnyway}>
          {saveLabel}
        </button>
      </div>
    </section>
  );
}

export function GenerateFormDialog({ channels, onClose, onUseTemplates }: { channels: Schemas['ChannelView'][]; onClose: () => void; onUseTemplates: () => void }) {
  const s = useFormStream();
  const providers = useLoad((signal) => api.get('/ai/providers/', { signal }), []);
  const none = !!providers.data && (providers.data.results ?? []).length === 0;
  const [description, setDescription] = useState('');
  const [name, setName] = useState('');
  const [category, setCategory] = useState('');
  const [channel, setChannel] = useState('');
  const [providerId, setProviderId] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await s.run('/ai/whatsapp-flows/generate', {
      description,
      ...(name.trim() ? { name: name.trim() } : {}),
      ...(category ? { categories: [category] } : {}),
      ...(channel ? { channel_id: channel } : {}),
      ...(providerId ? { provider_id: providerId } : {}),
    });
    if (r?.status === 'ready' && r.flow) navigate(`/whatsapp-flows/${r.flow.id}`);
  };
  const saveAnyway = async () => {
    const r = s.result!;
    try {
      const f = await api.post('/whatsapp-flows/', { body: { name: r.name, categories: r.categories, flow_json: r.flow_json, ...(channel ? { channel_id: channel } : {}) } });
      navigate(`/whatsapp-flows/${f.id}`);
    } catch (err) {
      s.setError(err);
    }
  };
  return (
    <Dialog title="Generate a WhatsApp Flow with AI" onClose={onClose} wide>
      {none && <NoProvider templates={{ label: 'Start from a template', onClick: onUseTemplates }} />}
      <form onSubmit={(e) => void submit(e)}>
        <div className="field">
          <label htmlFor="wai-desc">What should the form ask?</label>
          <textarea id="wai-desc" rows={3} required maxLength={8000} value={description} onChange={(e) => setDescription(e.target.value)} placeholder="Book a haircut: service, date, time, then name and phone" />
        </div>
        <div className="row gap wrap">
          <div className="field">
            <label htmlFor="wai-name">Name (optional)</label>
            <input id="wai-name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} placeholder="The AI’s name" />
          </div>
          <div className="field">
            <label htmlFor="wai-cat">Category</label>
            <select id="wai-cat" value={category} onChange={(e) => setCategory(e.target.value)}>
              <option value="">Let the AI choose</option>
              {CATEGORIES.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </div>
          {channels.length > 0 && (
            <div className="field">
              <label htmlFor="wai-chan">WhatsApp channel</label>
              <select id="wai-chan" value={channel} onChange={(e) => setChannel(e.target.value)}>
                <option value="">None yet</option>
                {channels.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            </div>
          )}
        </div>
        <ProviderSelect providers={providers.data?.results ?? []} value={providerId} onChange={setProviderId} id="wai-provider" />
        <p className="hint">The result is validated, saved as a draft and opened in the editor; nothing is sent to Meta until you sync or publish it.</p>
        <div className="dialog-actions">
          {s.running && (
            <button type="button" onClick={s.stop}>
              Stop
            </button>
          )}
          <button type="submit" className="primary" disabled={s.running}>
            Generate
          </button>
        </div>
      </form>
      {isNoProvider(s.error) ? <NoProvider templates={{ label: 'Start from a template', onClick: onUseTemplates }} /> : <ErrorBanner error={s.error} onDismiss={() => s.setError(null)} />}
      <AIProgress steps={s.steps} running={s.running} title="Generation progress" />
      {s.result && s.result.status !== 'ready' && <NotReady result={s.result} saveLabel="Save as a draft anyway (fix it in the editor)" onSaveAnyway={() => void saveAnyway()} />}
    </Dialog>
  );
}

export function UpdateFormDialog({ flow, onClose, onSaved }: { flow: WAFlow; onClose: () => void; onSaved: (f: WAFlow) => void }) {
  const s = useFormStream();
  const toast = useToast();
  const providers = useLoad((signal) => api.get('/ai/providers/', { signal }), []);
  const [instruction, setInstruction] = useState('');
  const [providerId, setProviderId] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await s.run(`/ai/whatsapp-flows/${encodeURIComponent(flow.id)}/update`, { instruction, ...(providerId ? { provider_id: providerId } : {}) });
    if (r?.status === 'ready' && r.flow) {
      toast('Updated with AI and saved as a draft (not sent to Meta)');
      onSaved(r.flow);
    }
  };
  const saveAnyway = async () => {
    const r = s.result!;
    try {
      onSaved(await api.put('/whatsapp-flows/{wa_flow_id}/', { path: { wa_flow_id: flow.id }, body: { version: r.base_version ?? flow.version, flow_json: r.flow_json } }));
    } catch (err) {
      s.setError(err);
    }
  };
  return (
    <Dialog title="Update with AI" onClose={onClose} wide>
      {providers.data && (providers.data.results ?? []).length === 0 && <NoProvider />}
      <form onSubmit={(e) => void submit(e)}>
        <div className="field">
          <label htmlFor="wai-instr">What should change?</label>
          <textarea id="wai-instr" rows={2} required maxLength={8000} value={instruction} onChange={(e) => setInstruction(e.target.value)} placeholder="Add a field asking for the delivery date" />
          <p className="hint">The flow keeps its ID{flow.meta_flow_id ? ` and Meta Flow ID ${flow.meta_flow_id}` : ''}; {flow.status === 'PUBLISHED' ? 'a published flow returns to draft; ' : ''}nothing is sent to Meta until you sync or publish.</p>
        </div>
        <ProviderSelect providers={providers.data?.results ?? []} value={providerId} onChange={setProviderId} id="wai-update-provider" />
        <div className="dialog-actions">
          {s.running && (
            <button type="button" onClick={s.stop}>
              Stop
            </button>
          )}
          <button type="submit" className="primary" disabled={s.running}>
            Update
          </button>
        </div>
      </form>
      {isNoProvider(s.error) ? <NoProvider /> : <ErrorBanner error={s.error} onDismiss={() => s.setError(null)} />}
      <AIProgress steps={s.steps} running={s.running} title="Update progress" />
      {s.result && s.result.status !== 'ready' && <NotReady result={s.result} saveLabel="Save it anyway (fix it in the editor)" onSaveAnyway={() => void saveAnyway()} />}
    </Dialog>
  );
}

/** Parley's and Meta's problems with a flow, in words the author can act on. */
export function FormCheckDialog({ id, onClose }: { id: string; onClose: () => void }) {
  const [check, setCheck] = useState<FormCheck | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    fetchCheck(id).then(setCheck, setError);
  }, [id]);
  return (
    <Dialog title="Problems in words" onClose={onClose} wide>
      <ErrorBanner error={error} />
      {!check && !error && <div className="loading">Checking…</div>}
      {check && (
        <section aria-label="Check result">
          <div className={`ai-status ai-status-${check.valid ? 'ready' : 'has_problems'}`} role="status">
            <strong>{check.valid ? 'Valid' : 'Not valid'}</strong>: {check.summary}
            {check.synced_at && <span className="muted small"> (Meta’s errors as of the last sync)</span>}
          </div>
          {check.problems.length > 0 && (
            <ul className="ai-problems">
              {check.problems.map((p, i) => (
                <li key={i} className={p.severity === 'warning' ? 'warning' : 'error'}>
                  <strong>{p.source === 'meta' ? 'Meta' : 'Parley'}</strong> {p.text || p.message}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </Dialog>
  );
}

async function fetchCheck(id: string): Promise<FormCheck> {
  return (await rawRequest<FormCheck>('POST', `/ai/whatsapp-flows/${encodeURIComponent(id)}/check`, {})).data;
}
