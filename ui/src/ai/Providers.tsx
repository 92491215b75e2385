// Settings → AI providers: the project's LLM endpoints (OpenAI or a local
// Ollama / llama.cpp / vLLM), added, changed, removed, and checked: what
// works (reachable, the model, JSON mode, streaming), in words.
import { useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { limits } from '../api/limits';
import { Dialog, Empty, ErrorBanner, useLoad, useToast } from '../components/ui';
import type { CheckResult, Provider } from './types';

const CHECKS: [keyof CheckResult, string][] = [
  ['reachable', 'Reachable'],
  ['model_exists', 'Model'],
  ['json_mode', 'JSON mode'],
  ['streaming', 'Streaming'],
];

export function AIProviders({ owner }: { owner: boolean }) {
  const list = useLoad((signal) => api.get('/ai/providers/', { signal }), []);
  const [editing, setEditing] = useState<Provider | 'new' | null>(null);
  const [removing, setRemoving] = useState<Provider | null>(null);
  const [checks, setChecks] = useState<Record<string, CheckResult | 'running' | undefined>>({});
  const [error, setError] = useState<unknown>(null);
  const toast = useToast();
  const rows = list.data?.results ?? [];
  const check = async (p: Provider) => {
    setChecks((c) => ({ ...c, [p.id]: 'running' }));
    try {
      const r = await api.get('/ai/providers/{provider_id}/check', { path: { provider_id: p.id } });
      setChecks((c) => ({ ...c, [p.id]: r }));
    } catch (e) {
      setChecks((c) => ({ ...c, [p.id]: undefined }));
      setError(e);
    }
  };
  return (
    <section className="panel" aria-labelledby="ai-h" id="ai-providers">
      <div className="row">
        <h2 id="ai-h">AI providers</h2>
        <div className="spacer" />
        {owner && (
          <button type="button" onClick={() => setEditing('new')}>
            Add AI provider
          </button>
        )}
      </div>
      <p className="muted small">
        Any endpoint speaking the OpenAI chat-completions API: OpenAI, or a model on your own machine with Ollama (<code>http://localhost:11434/v1</code>), the llama.cpp server or vLLM. The first
        one is the default for “Generate with AI” and “Ask AI to change…”.
      </p>
      <ErrorBanner error={error ?? list.error} onDismiss={() => setError(null)} />
      {!list.loading && rows.length === 0 && (
        <Empty title="No AI provider configured">
          <p>Without one, the AI features are off: new flows start from the built-in templates. {owner ? 'Add one to generate flows from a description.' : 'Ask an owner to add one.'}</p>
        </Empty>
      )}
      {rows.length > 0 && (
        <table className="table" aria-label="AI providers">
          <thead>
            <tr>
              <th>Name</th>
              <th>Base URL</th>
              <th>Model</th>
              <th>API key</th>
              <th>JSON mode</th>
              <th>Limits</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((p, i) => {
              const c = checks[p.id];
              return (
                <tr key={p.id}>
                  <td>
                    {p.name} {i === 0 && <span className="muted small">(default)</span>}
                    {c && c !== 'running' && (
                      <ul className="ai-check" aria-label={`Check of ${p.name}`}>
                        {CHECKS.map(([k, label]) => (
                          <li key={k} className={c[k].ok ? 'ok' : 'fail'}>
                            {c[k].ok ? '✓' : '✗'} <strong>{label}</strong> <span className="small">{c[k].detail}</span>
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td className="small mono">{p.base_url}</td>
                  <td className="small mono">{p.model}</td>
                  <td className="small">{p.has_api_key ? 'stored' : 'none'}</td>
                  <td className="small">{p.json_mode}</td>
                  <td className="small">
                    {p.timeout_seconds} s, {p.max_tokens} tokens
                  </td>
                  <td className="nowrap">
                    <button type="button" disabled={c === 'running'} onClick={() => void check(p)} aria-label={`Check ${p.name}`}>
                      {c === 'running' ? 'Checking…' : 'Check'}
                    </button>
                    {owner && (
                      <>
                        <button type="button" onClick={() => setEditing(p)} aria-label={`Edit ${p.name}`}>
                          Edit
                        </button>
                        <button type="button" className="danger" onClick={() => setRemoving(p)} aria-label={`Delete ${p.name}`}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {editing && (
        <ProviderForm
          provider={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(p) => {
            setEditing(null);
            list.reload();
            toast(`Saved ${p.name}: check it to see what works`);
          }}
        />
      )}
      {removing && (
        <Dialog
          title={`Delete ${removing.name}?`}
          onClose={() => setRemoving(null)}
          footer={
            <>
              <button type="button" onClick={() => setRemoving(null)}>
                Cancel
              </button>
              <button
                type="button"
                className="danger"
                onClick={() =>
                  void api.del('/ai/providers/{provider_id}/', { path: { provider_id: removing.id } }).then(
                    () => {
                      setRemoving(null);
                      list.reload();
                      toast('AI provider deleted');
                    },
                    (e) => {
                      setRemoving(null);
                      setError(e);
                    },
                  )
                }
              >
                Delete
              </button>
            </>
          }
        >
          <p>Its stored API key is deleted with it. Flows made with it stay as they are.</p>
        </Dialog>
      )}
    </section>
  );
}

function ProviderForm({ provider, onClose, onSaved }: { provider: Provider | null; onClose: () => void; onSaved: (p: Provider) => void }) {
  const [name, setName] = useState(provider?.name ?? '');
  const [baseUrl, setBaseUrl] = useState(provider?.base_url ?? '');
  const [model, setModel] = useState(provider?.model ?? '');
  const [key, setKey] = useState('');
  const [removeKey, setRemoveKey] = useState(false);
  const [jsonMode, setJsonMode] = useState<'json_schema' | 'json_object'>(provider?.json_mode ?? 'json_schema');
  const [timeout, setTimeoutS] = useState(String(provider?.timeout_seconds ?? 120));
  const [maxTokens, setMaxTokens] = useState(String(provider?.max_tokens ?? 8192));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body = {
      name: name.trim(),
      base_url: baseUrl.trim(),
      model: model.trim(),
      json_mode: jsonMode,
      timeout_seconds: Number(timeout) || undefined,
      max_tokens: Number(maxTokens) || undefined,
      // Write-only: absent keeps the stored key, "" removes it.
      ...(key ? { api_key: key } : removeKey ? { api_key: '' } : {}),
    };
    try {
      const p = provider ? await api.put('/ai/providers/{provider_id}/', { path: { provider_id: provider.id }, body }) : await api.post('/ai/providers/', { body });
      onSaved(p);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={provider ? `Edit ${provider.name}` : 'Add AI provider'} onClose={onClose} wide>
      <form onSubmit={submit}>
        <ErrorBanner error={error} />
        <div className="field">
          <label htmlFor="aip-name">Name</label>
          <input id="aip-name" required maxLength={limits.AIProviderBody.name} value={name} onChange={(e) => setName(e.target.value)} placeholder="local" />
        </div>
        <div className="field">
          <label htmlFor="aip-url">Base URL</label>
          <input id="aip-url" required maxLength={limits.AIProviderBody.base_url} value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} placeholder="http://localhost:11434/v1" />
          <p className="hint">The API root: https://api.openai.com/v1, or http://localhost:11434/v1 for Ollama (http://host.docker.internal:11434/v1 from Docker).</p>
        </div>
        <div className="field">
          <label htmlFor="aip-model">Model</label>
          <input id="aip-model" required maxLength={limits.AIProviderBody.model} value={model} onChange={(e) => setModel(e.target.value)} placeholder="qwen2.5:7b or gpt-4o-mini" />
        </div>
        <div className="field">
          <label htmlFor="aip-key">API key</label>
          <input id="aip-key" type="password" autoComplete="off" maxLength={limits.AIProviderBody.api_key} value={key} onChange={(e) => setKey(e.target.value)} placeholder={provider?.has_api_key ? 'A key is stored: leave empty to keep it' : 'Optional: local servers need none'} />
          <p className="hint">Sealed at rest and never shown again.</p>
          {provider?.has_api_key && (
            <label className="inline">
              <input type="checkbox" checked={removeKey} onChange={(e) => setRemoveKey(e.target.checked)} disabled={!!key} /> Remove the stored key
            </label>
          )}
        </div>
        <div className="row gap wrap">
          <div className="field">
            <label htmlFor="aip-mode">JSON mode</label>
            <select id="aip-mode" value={jsonMode} onChange={(e) => setJsonMode(e.target.value as 'json_schema')}>
              <option value="json_schema">json_schema (most servers)</option>
              <option value="json_object">json_object + schema in the prompt</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="aip-timeout">Timeout (s)</label>
            <input id="aip-timeout" type="number" min={1} max={900} value={timeout} onChange={(e) => setTimeoutS(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="aip-tokens">Max tokens</label>
            <input id="aip-tokens" type="number" min={256} max={200000} value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)} />
          </div>
        </div>
        <p className="hint">json_schema works with OpenAI, Ollama ≥ 0.5, the llama.cpp server and vLLM; json_object (the schema written into the prompt) is for servers that ignore or reject it. Check tells which works.</p>
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
