// New flow → "Generate with AI": a description or an outline, the trigger,
// channels and language; the generation's live progress; then the draft on
// a read-only canvas with the linter's result and its test conversations,
// and "Load to canvas", which creates the flow and opens the editor. A
// draft that still has problems is shown as such, never as ready.
import { useMemo, useRef, useState, type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
import { ErrorBanner, useLoad } from '../components/ui';
import type { NodeTypeSpec } from '../editor/graph';
import { TRIGGERS } from '../pages/NewFlow';
import { AIProgress, addProgress } from './Progress';
import { NoProvider, isNoProvider } from './NoProvider';
import { PreviewCanvas } from './PreviewCanvas';
import { ProviderSelect } from './ProviderSelect';
import { postStream, type Progress } from './sse';
import type { Draft, TestRun } from './types';

type Flow = Schemas['Flow'];
const CHANNELS = ['whatsapp', 'messenger', 'instagram', 'viber', 'webchat'];
const OUTLINE_EXAMPLE = '- say: Welcome to Sunny Salon!\n- ask: What is your name?\n- ask: Which date suits you?\n- say: Thanks, see you soon!';

export const STATUS_TEXT: Record<Draft['status'], string> = {
  ready: 'Ready: lints, and every test conversation ends as expected',
  tests_failing: 'Lints, but a test conversation fails: review before publishing',
  has_problems: 'Not ready: the draft still has problems',
};

export function useSpecs() {
  const types = useLoad((signal) => api.get('/chat-flow/node-types/', { signal }), []);
  return useMemo(() => new Map<string, NodeTypeSpec>((types.data?.results ?? []).map((t) => [t.type, t])), [types.data]);
}

export function GenerateFlow({ onCreated, onUseTemplate }: { onCreated: (f: Flow) => void; onUseTemplate: () => void }) {
  const providers = useLoad((signal) => api.get('/ai/providers/', { signal }), []);
  const specs = useSpecs();
  const [mode, setMode] = useState<'description' | 'outline'>('description');
  const [description, setDescription] = useState('');
  const [outline, setOutline] = useState('');
  const [trigger, setTrigger] = useState('whatsapp');
  const [keywords, setKeywords] = useState('');
  const [channels, setChannels] = useState<string[]>(['whatsapp']);
  const [language, setLanguage] = useState('English');
  const [providerId, setProviderId] = useState('');
  const [steps, setSteps] = useState<Progress[]>([]);
  const [running, setRunning] = useState(false);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const list = providers.data?.results ?? [];

  const generate = async (e: FormEvent) => {
    e.preventDefault();
    abort.current?.abort();
    const ac = new AbortController();
    abort.current = ac;
    setRunning(true);
    setSteps([]);
    setDraft(null);
    setError(null);
    const t = { ...TRIGGERS.find((x) => x.id === trigger)!.trigger };
    if (t.type === 'keyword') t.keywords = keywords.split(',').map((k) => k.trim()).filter(Boolean);
    try {
      const body = {
        ...(mode === 'description' ? { description } : { outline }),
        trigger: t,
        channel_types: channels,
        language: language.trim() || undefined,
        provider_id: providerId || undefined,
      };
      const r = await postStream<Draft>('/ai/flows/generate', body, (p) => setSteps((s) => addProgress(s, p)), ac.signal);
      setDraft(r.data);
      setName(r.data.name);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') setError(err);
    } finally {
      setRunning(false);
    }
  };

  const load = async () => {
    if (!draft) return;
    setLoading(true);
    setError(null);
    try {
      onCreated(await api.post('/chat-flow/flows/', { body: { name: name.trim() || draft.name, flow_data: draft.flow_data as never } }));
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };

  if (providers.data && list.length === 0) return <NoProvider templates={{ label: 'Start from a template', onClick: onUseTemplate }} />;
  const errors = draft?.problems.filter((p) => p.severity === 'error') ?? [];
  return (
    <div className="ai-generate">
      <form onSubmit={generate}>
        <div role="tablist" aria-label="Describe the flow" className="tabs small-tabs">
          <button type="button" role="tab" aria-selected={mode === 'description'} onClick={() => setMode('description')}>
            Description
          </button>
          <button type="button" role="tab" aria-selected={mode === 'outline'} onClick={() => setMode('outline')}>
            Outline (YAML steps)
          </button>
        </div>
        {mode === 'description' ? (
          <div className="field">
            <label htmlFor="ai-desc">What should the flow do?</label>
            <textarea id="ai-desc" rows={3} maxLength={8000} required value={description} onChange={(e) => setDescription(e.target.value)} placeholder="Let customers book a haircut: pick a service, a date and a time, then confirm." />
          </div>
        ) : (
          <div className="field">
            <label htmlFor="ai-outline">Outline (YAML steps)</label>
            <textarea id="ai-outline" rows={6} maxLength={20000} required className="mono" value={outline} onChange={(e) => setOutline(e.target.value)} placeholder={OUTLINE_EXAMPLE} />
          </div>
        )}
        <div className="row gap wrap">
          <div className="field">
            <label htmlFor="ai-trigger">Starts on</label>
            <select id="ai-trigger" value={trigger} onChange={(e) => setTrigger(e.target.value)}>
              {TRIGGERS.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.label}
                </option>
              ))}
            </select>
          </div>
          {trigger === 'keyword' && (
            <div className="field">
              <label htmlFor="ai-keywords">Keywords</label>
              <input id="ai-keywords" value={keywords} onChange={(e) => setKeywords(e.target.value)} placeholder="book, appointment" required />
            </div>
          )}
          <div className="field">
            <label htmlFor="ai-lang">Language</label>
            <input id="ai-lang" value={language} maxLength={50} onChange={(e) => setLanguage(e.target.value)} />
          </div>
          <ProviderSelect providers={list} value={providerId} onChange={setProviderId} id="ai-provider" />
        </div>
        <fieldset className="row gap wrap ai-channels">
          <legend>Channels (their limits shape the messages)</legend>
          {CHANNELS.map((c) => (
            <label key={c} className="inline">
              <input type="checkbox" checked={channels.includes(c)} onChange={(e) => setChannels((s) => (e.target.checked ? [...s, c] : s.filter((x) => x !== c)))} /> {c}
            </label>
          ))}
        </fieldset>
        <div className="dialog-actions">
          {running && (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          )}
          <button type="submit" className={draft ? '' : 'primary'} disabled={running}>
            {draft ? 'Generate again' : 'Generate'}
          </button>
        </div>
      </form>
      {isNoProvider(error) ? <NoProvider templates={{ label: 'Start from a template', onClick: onUseTemplate }} /> : <ErrorBanner error={error} onDismiss={() => setError(null)} />}
      <AIProgress steps={steps} running={running} title="Generation progress" />
      {draft && (
        <section className="ai-draft" aria-label="Generated draft">
          <div className={`ai-status ai-status-${draft.status}`} role="status">
            <strong>{STATUS_TEXT[draft.status]}</strong>
            <span className="small"> — {draft.note}</span>
            <span className="muted small">
              {' '}
              ({draft.rounds} repair round{draft.rounds === 1 ? '' : 's'}, {draft.usage.calls} call{draft.usage.calls === 1 ? '' : 's'}, {draft.usage.prompt_tokens + draft.usage.output_tokens} tokens)
            </span>
          </div>
          <PreviewCanvas doc={draft.flow_data} specs={specs} problems={draft.problems} label="Draft preview" height={440} />
          {draft.problems.length > 0 && (
            <details open={errors.length > 0} className="ai-problems">
              <summary>
                Linter: {errors.length} error{errors.length === 1 ? '' : 's'}, {draft.problems.length - errors.length} warning{draft.problems.length - errors.length === 1 ? '' : 's'}
              </summary>
              <ul>
                {draft.problems.map((p, i) => (
                  <li key={i} className={p.severity}>
                    <strong>{p.severity}</strong> {p.node_id && <code>{p.node_id}</code>} {p.message}
                  </li>
                ))}
              </ul>
            </details>
          )}
          {draft.problems.length === 0 && <p className="small">Linter: no problems.</p>}
          <TestConversations tests={draft.tests} />
          <div className="row gap">
            <div className="field grow">
              <label htmlFor="ai-name">Flow name</label>
              <input id="ai-name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
            </div>
          </div>
          <div className="dialog-actions">
            <button type="button" className={draft.status === 'has_problems' ? '' : 'primary'} disabled={loading} onClick={() => void load()}>
              {draft.status === 'has_problems' ? 'Load to canvas anyway (fix the problems there)' : 'Load to canvas'}
            </button>
          </div>
        </section>
      )}
    </div>
  );
}

export function TestConversations({ tests }: { tests: TestRun[] }) {
  if (!tests.length) return <p className="small muted">No test conversations were run (they run once the draft lints).</p>;
  const passed = tests.filter((t) => t.passed).length;
  return (
    <section className="ai-tests" aria-label="Test conversations">
      <h3>
        Test conversations: {passed} of {tests.length} passed
      </h3>
      {tests.map((t, i) => (
        <details key={i} className={t.passed ? 'passed' : 'failed'}>
          <summary>
            {t.passed ? '✓' : '✗'} {t.name} — <span className="small">{t.detail}</span>
          </summary>
          <ol className="ai-turns">
            {t.turns.map((m, j) => (
              <li key={j} className={m.from}>
                <span className="who">{m.from === 'contact' ? 'Contact' : 'Bot'}:</span> {m.text}
                {m.buttons && m.buttons.length > 0 && <span className="muted small"> [{m.buttons.join(' | ')}]</span>}
              </li>
            ))}
          </ol>
        </details>
      ))}
    </section>
  );
}
