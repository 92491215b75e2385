// Editor → "Ask AI to change…": an instruction, the live progress, then the
// proposed change on a canvas — added nodes and connections green, removed
// ones red and ghosted, changed ones amber — with the list of changes.
// Accept saves the proposal as the draft at the version it was made from
// (a 409 means the draft moved meanwhile: ask again); Reject saves nothing.
import { useMemo, useRef, useState, type FormEvent } from 'react';
import { api, ApiError, type Schemas } from '../api/client';
import { Dialog, ErrorBanner, useLoad, useToast } from '../components/ui';
import type { FlowDoc, NodeTypeSpec } from '../editor/graph';
import { diffGraphs, highlight } from './diff';
import { AIProgress, addProgress } from './Progress';
import { NoProvider, isNoProvider } from './NoProvider';
import { PreviewCanvas } from './PreviewCanvas';
import { ProviderSelect } from './ProviderSelect';
import { postStream, type Progress } from './sse';
import type { Proposal } from './types';

type Flow = Schemas['Flow'];

export function AskChange({
  flowId,
  base,
  specs,
  dirty,
  save,
  onAccepted,
  onClose,
}: {
  flowId: string;
  /** The graph on the canvas (what the change is compared with when the server sends no diff). */
  base: FlowDoc;
  specs: Map<string, NodeTypeSpec>;
  dirty: boolean;
  save: () => Promise<boolean>;
  onAccepted: (f: Flow) => void;
  onClose: () => void;
}) {
  const toast = useToast();
  const providers = useLoad((signal) => api.get('/ai/providers/', { signal }), []);
  const [instruction, setInstruction] = useState('');
  const [providerId, setProviderId] = useState('');
  const [steps, setSteps] = useState<Progress[]>([]);
  const [running, setRunning] = useState(false);
  const [proposal, setProposal] = useState<Proposal | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [moved, setMoved] = useState(false);
  const [accepting, setAccepting] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const [baseDoc] = useState(base);
  const shown = useMemo(() => (proposal ? highlight(proposal.flow_data, proposal.diff ?? diffGraphs(baseDoc, proposal.flow_data)) : null), [proposal, baseDoc]);

  const ask = async (e?: FormEvent) => {
    e?.preventDefault();
    setError(null);
    setMoved(false);
    setProposal(null);
    setSteps([]);
    // The AI changes the saved draft: save what the canvas shows first.
    if (dirty && !(await save())) {
      setError(new ApiError(409, { detail: 'Your unsaved changes could not be saved, so the AI would not see them: fix the save problem first.' }));
      return;
    }
    const ac = new AbortController();
    abort.current = ac;
    setRunning(true);
    try {
      const r = await postStream<Proposal>(`/ai/flows/${encodeURIComponent(flowId)}/edit`, { instruction, provider_id: providerId || undefined }, (p) => setSteps((s) => addProgress(s, p)), ac.signal);
      setProposal(r.data);
    } catch (err) {
      if ((err as Error).name !== 'AbortError') setError(err);
    } finally {
      setRunning(false);
    }
  };

  const accept = async () => {
    if (!proposal) return;
    setAccepting(true);
    setError(null);
    try {
      const f = await api.put('/chat-flow/flows/{flow_id}/', {
        path: { flow_id: flowId },
        body: { version: proposal.base_version, flow_data: proposal.flow_data as never },
        headers: { 'If-Match': `"${proposal.base_version}"` },
      });
      toast(`Change accepted and saved as the draft (version ${f.version})`);
      onAccepted(f);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) setMoved(true);
      else setError(err);
    } finally {
      setAccepting(false);
    }
  };

  const close = () => {
    abort.current?.abort();
    onClose();
  };
  const count = (mark: string) => shown?.changes.filter((c) => c.mark === mark).length ?? 0;

  return (
    <Dialog title="Ask AI to change…" onClose={close} wide>
      {providers.data && (providers.data.results ?? []).length === 0 && <NoProvider />}
      <form onSubmit={(e) => void ask(e)}>
        <div className="field">
          <label htmlFor="ai-instruction">What should change?</label>
          <textarea id="ai-instruction" rows={2} required maxLength={8000} value={instruction} onChange={(e) => setInstruction(e.target.value)} placeholder="Add a message asking for the email after the name question" />
          <p className="hint">The AI proposes a change to the saved draft{dirty ? ' (your unsaved changes are saved first)' : ''}; nothing changes until you accept it.</p>
        </div>
        <ProviderSelect providers={providers.data?.results ?? []} value={providerId} onChange={setProviderId} id="ai-change-provider" />
        <div className="dialog-actions">
          {running && (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          )}
          <button type="submit" className={proposal ? '' : 'primary'} disabled={running || !instruction.trim()}>
            {proposal ? 'Ask again' : 'Ask AI'}
          </button>
        </div>
      </form>
      {isNoProvider(error) ? <NoProvider /> : <ErrorBanner error={error} onDismiss={() => setError(null)} />}
      <AIProgress steps={steps} running={running} title="Change progress" />
      {moved && (
        <div className="notice" role="alert">
          <strong>The draft moved:</strong> it was saved by someone (or another tab) after this change was proposed, so accepting it would overwrite their work.{' '}
          <button type="button" className="link" onClick={() => void ask()}>
            Ask again on the current draft
          </button>
        </div>
      )}
      {proposal && shown && (
        <section className="ai-proposal" aria-label="Proposed change">
          <div className={`ai-status ai-status-${proposal.status}`} role="status">
            <strong>
              {proposal.status === 'ready' ? 'Proposed change' : proposal.status === 'no_change' ? 'No change proposed' : 'Proposed change — not ready: it still has problems'}
            </strong>
            {proposal.summary && <span>: {proposal.summary}</span>}
            <span className="small"> — {proposal.note}</span>
          </div>
          {proposal.status !== 'no_change' && (
            <>
              <p className="ai-legend small">
                <span className="diff-key added">{count('added')} added</span> <span className="diff-key changed">{count('changed')} changed</span>{' '}
                <span className="diff-key removed">{count('removed')} removed</span>
              </p>
              <div className="ai-proposal-body">
                <PreviewCanvas doc={shown.doc} specs={specs} problems={proposal.problems} nodeMarks={shown.nodeMarks} edgeMarks={shown.edgeMarks} label="Proposed change on the canvas" height={420} focus={[...shown.nodeMarks].filter(([, m]) => m !== 'same').map(([id]) => id)} />
                <ul className="ai-changes" aria-label="Changes">
                  {shown.changes.map((c, i) => (
                    <li key={i} className={`diff-${c.mark}`}>
                      <strong>{c.mark}</strong> {c.kind === 'edge' ? 'connection' : 'node'} <code>{c.label}</code>
                      {c.fields && c.fields.length > 0 && (
                        <ul>
                          {c.fields.map((f) => (
                            <li key={f.key} className="small">
                              {f.key}: <del>{f.before}</del> → <ins>{f.after}</ins>
                            </li>
                          ))}
                        </ul>
                      )}
                    </li>
                  ))}
                </ul>
              </div>
              {proposal.problems.filter((p) => p.severity === 'error').length > 0 && (
                <ul className="ai-problems">
                  {proposal.problems
                    .filter((p) => p.severity === 'error')
                    .map((p, i) => (
                      <li key={i} className="error">
                        {p.node_id && <code>{p.node_id}</code>} {p.message}
                      </li>
                    ))}
                </ul>
              )}
            </>
          )}
          <div className="dialog-actions">
            <button type="button" onClick={() => { toast('Change rejected: nothing was saved'); onClose(); }}>
              Reject
            </button>
            {proposal.status !== 'no_change' && (
              <button type="button" className={proposal.status === 'ready' ? 'primary' : ''} disabled={accepting} onClick={() => void accept()}>
                {proposal.status === 'ready' ? 'Accept' : 'Accept anyway (fix the problems on the canvas)'}
              </button>
            )}
          </div>
        </section>
      )}
    </Dialog>
  );
}
