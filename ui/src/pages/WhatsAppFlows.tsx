// WhatsApp Flows (forms): the list with Meta's status, a new form from a
// built-in template or pasted Flow JSON, and the editor: the JSON beside the
// live preview, with the validator's markers (ours and Meta's), and the
// lifecycle (publish, deprecate, clone, delete, sync with Meta, keys).
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api, errorMessage, type Schemas } from '../api/client';
import { canEdit, useMe } from '../lib/auth';
import { navigate, useTitle } from '../lib/router';
import { Badge, Dialog, Empty, ErrorBanner, Pager, timeAgo, useLoad, usePager, useToast } from '../components/ui';
import { Preview } from '../waform/Preview';
import { FormCheckDialog, GenerateFormDialog, UpdateFormDialog } from '../ai/WhatsAppAI';

type WAFlow = Schemas['WhatsAppFlowView'];
type Problem = Schemas['FormProblem'];
type Channel = Schemas['ChannelView'];

export const CATEGORIES = ['SIGN_UP', 'SIGN_IN', 'APPOINTMENT_BOOKING', 'LEAD_GENERATION', 'CONTACT_US', 'CUSTOMER_SUPPORT', 'SURVEY', 'OTHER'];

export default function WhatsAppFlows({ id }: { id?: string }) {
  useTitle('WhatsApp Flows');
  return id ? <FlowEditor id={id} /> : <FlowList />;
}

function FlowList() {
  const me = useMe();
  const pager = usePager();
  const [creating, setCreating] = useState(false);
  const [generating, setGenerating] = useState(false);
  const chans = useWhatsAppChannels();
  const list = useLoad((signal) => api.get('/whatsapp-flows/', { query: { cursor: pager.cursor || undefined }, signal }), [pager.cursor]);
  const rows = list.data?.results ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>WhatsApp Flows</h1>
        <div className="spacer" />
        {canEdit(me) && (
          <>
            <button type="button" onClick={() => setGenerating(true)}>
              Generate with AI
            </button>
            <button type="button" className="primary" onClick={() => setCreating(true)}>
              New WhatsApp Flow
            </button>
          </>
        )}
      </div>
      <p className="muted">
        Forms that open inside WhatsApp: screens of inputs, dates and choices. Author and preview them here, publish them to Meta through a WhatsApp channel,
        and send them from a chat flow with the “WhatsApp Flow” node; the answers come back as variables.
      </p>
      <ErrorBanner error={list.error} />
      {!list.loading && !list.error && rows.length === 0 && (
        <Empty title="No WhatsApp Flows yet">
          <p>Start from a template (appointment booking, lead capture, survey, order form, sign-up) or paste Flow JSON.</p>
        </Empty>
      )}
      {rows.length > 0 && (
        <table className="table" aria-label="WhatsApp Flows">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Categories</th>
              <th>Meta ID</th>
              <th>Problems</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((f) => (
              <tr key={f.id} className="clickable" onClick={() => navigate(`/whatsapp-flows/${f.id}`)}>
                <td>
                  <a href={`/app/whatsapp-flows/${f.id}`} onClick={(e) => { e.preventDefault(); navigate(`/whatsapp-flows/${f.id}`); }}>
                    {f.name}
                  </a>
                </td>
                <td>
                  <Badge kind={f.status}>{f.status}</Badge>
                </td>
                <td className="small">{(f.categories ?? []).join(', ')}</td>
                <td className="small mono">{f.meta_flow_id || <span className="muted">not at Meta</span>}</td>
                <td className="small">{errorsOf(f.validation_errors).length || '—'}</td>
                <td className="small">{timeAgo(f.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pager={pager} nextCursor={list.data?.next_cursor} />
      {creating && <CreateDialog onClose={() => setCreating(false)} />}
      {generating && (
        <GenerateFormDialog
          channels={chans}
          onClose={() => setGenerating(false)}
          onUseTemplates={() => {
            setGenerating(false);
            setCreating(true);
          }}
        />
      )}
    </div>
  );
}

const errorsOf = (ps: Problem[] | null | undefined) => (ps ?? []).filter((p) => p.severity !== 'warning');

function useWhatsAppChannels() {
  const [chans, setChans] = useState<Channel[]>([]);
  useEffect(() => {
    api.get('/channels/').then(
      (p) => setChans((p.results ?? []).filter((c) => c.type === 'whatsapp')),
      () => setChans([]),
    );
  }, []);
  return chans;
}

function CreateDialog({ onClose }: { onClose: () => void }) {
  const templates = useLoad((signal) => api.get('/whatsapp-flows/templates/', { signal }), []);
  const chans = useWhatsAppChannels();
  const [source, setSource] = useState<'template' | 'json'>('template');
  const [template, setTemplate] = useState('appointment_booking');
  const [name, setName] = useState('');
  const [category, setCategory] = useState('OTHER');
  const [json, setJson] = useState('');
  const [channel, setChannel] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!channel && chans.length > 0) setChannel(chans[0].id);
  }, [chans, channel]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body =
        source === 'template'
          ? { template, ...(name ? { name } : {}), ...(channel ? { channel_id: channel } : {}) }
          : { name, categories: [category], flow_json: json, ...(channel ? { channel_id: channel } : {}) };
      const f = await api.post('/whatsapp-flows/', { body });
      navigate(`/whatsapp-flows/${f.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const tpls = templates.data?.results ?? [];
  return (
    <Dialog title="New WhatsApp Flow" onClose={onClose} wide>
      <form onSubmit={submit}>
        <ErrorBanner error={error} />
        <div role="radiogroup" aria-label="Start from" className="row gap">
          <label>
            <input type="radio" checked={source === 'template'} onChange={() => setSource('template')} /> A template
          </label>
          <label>
            <input type="radio" checked={source === 'json'} onChange={() => setSource('json')} /> Flow JSON
          </label>
        </div>
        {source === 'template' ? (
          <div className="field">
            <label htmlFor="wf-template">Template</label>
            <select id="wf-template" value={template} onChange={(e) => setTemplate(e.target.value)}>
              {tpls.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
            <p className="hint">{tpls.find((t) => t.id === template)?.description}</p>
          </div>
        ) : (
          <>
            <div className="field">
              <label htmlFor="wf-category">Category</label>
              <select id="wf-category" value={category} onChange={(e) => setCategory(e.target.value)}>
                {CATEGORIES.map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="wf-json">Flow JSON</label>
              <textarea id="wf-json" rows={10} className="mono" value={json} onChange={(e) => setJson(e.target.value)} placeholder='{"version": "7.1", "screens": [...]}' />
            </div>
          </>
        )}
        <div className="field">
          <label htmlFor="wf-name">Name {source === 'template' && <span className="muted">(default: the template's)</span>}</label>
          <input id="wf-name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} required={source === 'json'} />
        </div>
        <div className="field">
          <label htmlFor="wf-channel">WhatsApp channel</label>
          <select id="wf-channel" value={channel} onChange={(e) => setChannel(e.target.value)}>
            <option value="">None yet (keep it here; choose one to publish)</option>
            {chans.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
          <p className="hint">The flow is created in this number's WhatsApp Business Account at Meta.</p>
        </div>
        <div className="row gap">
          <div className="spacer" />
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** lineStarts are the offsets where each line of text begins. */
function lineStarts(text: string) {
  const out = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') out.push(i + 1);
  return out;
}

function FlowEditor({ id }: { id: string }) {
  const me = useMe();
  const toast = useToast();
  const editable = canEdit(me);
  const chans = useWhatsAppChannels();
  const [flow, setFlow] = useState<WAFlow | null>(null);
  const [text, setText] = useState('');
  const [live, setLive] = useState<Problem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState('');
  const [completed, setCompleted] = useState<Record<string, unknown> | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [aiUpdate, setAiUpdate] = useState(false);
  const [aiCheck, setAiCheck] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);

  const load = async () => {
    try {
      const f = await api.get('/whatsapp-flows/{wa_flow_id}/', { path: { wa_flow_id: id } });
      setFlow(f);
      setText(f.flow_json);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);
  // Live markers: the server's validator (the one Meta's rules live in) on
  // the text as typed, a moment after typing stops.
  useEffect(() => {
    if (!text) return;
    const t = setTimeout(() => {
      api.post('/whatsapp-flows/validate/', { body: { flow_json: text } }).then(
        (r) => setLive(r.errors ?? []),
        () => {},
      );
    }, 300);
    return () => clearTimeout(t);
  }, [text]);

  const dirty = flow !== null && text !== flow.flow_json;
  const metaProblems = (flow?.validation_errors ?? []).filter((p) => p.source === 'meta');
  const markers = useMemo(() => [...live, ...(dirty ? [] : metaProblems)], [live, metaProblems, dirty]);
  const errors = markers.filter((p) => p.severity !== 'warning');
  const starts = useMemo(() => lineStarts(text), [text]);
  const badLines = new Set(markers.map((p) => p.line_start).filter(Boolean));

  const act = async (what: string, f: () => Promise<WAFlow>, done: string) => {
    setBusy(what);
    setError(null);
    try {
      const out = await f();
      setFlow(out);
      setText(out.flow_json);
      toast(done);
    } catch (e) {
      setError(e);
    } finally {
      setBusy('');
    }
  };
  const path = { wa_flow_id: id };
  const save = () => act('save', () => api.put('/whatsapp-flows/{wa_flow_id}/', { path, body: { flow_json: text, version: flow?.version } }), 'Saved');
  const jump = (p: Problem) => {
    const a = area.current;
    if (!a || !p.line_start) return;
    const at = (starts[p.line_start - 1] ?? 0) + Math.max(0, (p.column_start ?? 1) - 1);
    a.focus();
    a.setSelectionRange(at, at);
  };
  if (!flow)
    return (
      <div className="page">
        <ErrorBanner error={error} />
        {!error && <div className="loading">Loading…</div>}
      </div>
    );
  const st = flow.status;
  return (
    <div className="page waflow-page">
      <div className="page-head">
        <button type="button" className="link" onClick={() => navigate('/whatsapp-flows')}>
          ← WhatsApp Flows
        </button>
        <h1>{flow.name}</h1>
        <Badge kind={st}>{st}</Badge>
        <div className="spacer" />
        {editable && (
          <div className="row gap" role="toolbar" aria-label="Lifecycle">
            <button type="button" disabled={!dirty || !!busy} className={dirty ? 'primary' : ''} onClick={() => void save()}>
              {busy === 'save' ? 'Saving…' : 'Save'}
            </button>
            <button type="button" disabled={!!busy} onClick={() => void act('check', () => api.post('/whatsapp-flows/{wa_flow_id}/check/', { path }), 'Checked')}>
              Check
            </button>
            <button type="button" disabled={!!busy || dirty || st === 'DEPRECATED'} title={dirty ? 'Save first' : 'Change the flow by an instruction'} onClick={() => setAiUpdate(true)}>
              Update with AI
            </button>
            <button type="button" disabled={!!busy} title="Parley’s and Meta’s problems, in words" onClick={() => setAiCheck(true)}>
              Explain problems
            </button>
            <button
              type="button"
              disabled={!!busy || dirty || st !== 'DRAFT' || errors.length > 0}
              title={errors.length > 0 ? 'Fix the validation errors first' : st !== 'DRAFT' ? 'Only a draft can be published' : dirty ? 'Save first' : 'Publish at Meta'}
              onClick={() => void act('publish', () => api.post('/whatsapp-flows/{wa_flow_id}/publish/', { path }), 'Published')}
            >
              {busy === 'publish' ? 'Publishing…' : 'Publish'}
            </button>
            <button
              type="button"
              disabled={!!busy || !['PUBLISHED', 'THROTTLED', 'BLOCKED'].includes(st)}
              onClick={() => void act('deprecate', () => api.post('/whatsapp-flows/{wa_flow_id}/deprecate/', { path }), 'Deprecated')}
            >
              Deprecate
            </button>
            <button
              type="button"
              disabled={!!busy}
              onClick={async () => {
                try {
                  const c = await api.post('/whatsapp-flows/{wa_flow_id}/clone/', { path, body: {} });
                  toast('Cloned');
                  navigate(`/whatsapp-flows/${c.id}`);
                } catch (e) {
                  setError(e);
                }
              }}
            >
              Clone
            </button>
            <button type="button" disabled={!!busy || !flow.channel_id} onClick={() => void act('sync', () => api.post('/whatsapp-flows/{wa_flow_id}/sync/', { path }), 'Synced with Meta')}>
              {busy === 'sync' ? 'Syncing…' : 'Sync with Meta'}
            </button>
            <button type="button" className="danger" disabled={!!busy || st !== 'DRAFT'} title={st !== 'DRAFT' ? 'Only drafts can be deleted; deprecate it instead' : ''} onClick={() => setConfirmDelete(true)}>
              Delete
            </button>
          </div>
        )}
      </div>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <div className="row gap small waflow-meta">
        <span>
          Categories: <b>{(flow.categories ?? []).join(', ')}</b>
        </span>
        <span>
          Meta ID: <b className="mono">{flow.meta_flow_id || '—'}</b>
        </span>
        <label>
          Channel{' '}
          <select
            aria-label="WhatsApp channel"
            value={flow.channel_id}
            disabled={!editable || !!flow.meta_flow_id || !!busy}
            onChange={(e) => void act('channel', () => api.put('/whatsapp-flows/{wa_flow_id}/', { path, body: { channel_id: e.target.value } }), 'Created at Meta')}
          >
            <option value="">none</option>
            {chans.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        {flow.synced_at && <span className="muted">synced {timeAgo(flow.synced_at)}</span>}
        {flow.preview_url && (
          <a href={flow.preview_url} target="_blank" rel="noreferrer">
            Meta's preview
          </a>
        )}
        {flow.channel_id && editable && <KeysButton channelId={flow.channel_id} />}
      </div>
      {editable && (
        <EndpointField
          flow={flow}
          busy={!!busy}
          onSave={(uri) => void act('endpoint', () => api.put('/whatsapp-flows/{wa_flow_id}/', { path, body: { endpoint: uri ? { uri } : {} } }), 'Endpoint saved')}
        />
      )}
      {st !== 'DRAFT' && dirty && <p className="hint">Saving changes a {st.toLowerCase()} flow back to DRAFT (as at Meta); publish it again to send the new version.</p>}
      <div className="waflow-split">
        <section aria-label="Flow JSON" className="waflow-json">
          <div className="waflow-gutter-wrap">
            <pre className="waflow-gutter mono" aria-hidden="true">
              {starts.map((_, i) => (
                <span key={i} className={badLines.has(i + 1) ? 'bad' : ''}>
                  {i + 1}
                  {'\n'}
                </span>
              ))}
            </pre>
            <textarea
              ref={area}
              aria-label="Flow JSON editor"
              className="mono"
              spellCheck={false}
              value={text}
              readOnly={!editable}
              onChange={(e) => setText(e.target.value)}
              onScroll={(e) => {
                const g = e.currentTarget.previousElementSibling as HTMLElement | null;
                if (g) g.scrollTop = e.currentTarget.scrollTop;
              }}
            />
          </div>
          <div className="waflow-problems" aria-label="Validation" role={markers.length ? 'list' : undefined}>
            {markers.length === 0 ? (
              <p className="ok small" role="status">
                ✓ Valid Flow JSON
              </p>
            ) : (
              markers.map((p, i) => (
                <button type="button" role="listitem" key={i} className={`problem ${p.severity === 'warning' ? 'warning' : 'error'}`} onClick={() => jump(p)}>
                  <span className="mono">{p.line_start ? `${p.line_start}:${p.column_start ?? 1}` : p.pointer || '—'}</span> <b>{p.error}</b> {p.message}
                  {p.source === 'meta' && <span className="muted"> (Meta)</span>}
                </button>
              ))
            )}
          </div>
        </section>
        <section aria-label="Preview" className="waflow-preview">
          <Preview flow={text} onComplete={(payload) => setCompleted(payload)} />
          {completed && <p className="small muted">The chat flow gets these answers as variables when a customer completes the form.</p>}
        </section>
      </div>
      {aiUpdate && (
        <UpdateFormDialog
          flow={flow}
          onClose={() => setAiUpdate(false)}
          onSaved={(f) => {
            setFlow(f);
            setText(f.flow_json);
            setAiUpdate(false);
          }}
        />
      )}
      {aiCheck && <FormCheckDialog id={flow.id} onClose={() => setAiCheck(false)} />}
      {confirmDelete && (
        <Dialog
          title={`Delete ${flow.name}?`}
          onClose={() => setConfirmDelete(false)}
          footer={
            <>
              <button type="button" onClick={() => setConfirmDelete(false)}>
                Cancel
              </button>
              <button
                type="button"
                className="danger"
                onClick={async () => {
                  try {
                    await api.del('/whatsapp-flows/{wa_flow_id}/', { path });
                    toast('Deleted');
                    navigate('/whatsapp-flows');
                  } catch (e) {
                    setConfirmDelete(false);
                    setError(e);
                  }
                }}
              >
                Delete
              </button>
            </>
          }
        >
          <p>The draft is deleted here{flow.meta_flow_id ? ' and at Meta' : ''}.</p>
        </Dialog>
      )}
    </div>
  );
}

/** EndpointField edits the data-exchange endpoint URI Meta calls (only forms with data_api_version use it). */
function EndpointField({ flow, busy, onSave }: { flow: WAFlow; busy: boolean; onSave: (uri: string) => void }) {
  const current = typeof flow.endpoint?.uri === 'string' ? flow.endpoint.uri : '';
  const [uri, setUri] = useState(current);
  useEffect(() => setUri(current), [current]);
  const suggested = `${window.location.origin}/whatsapp-flows/${flow.id}/endpoint`;
  return (
    <div className="row gap small waflow-meta">
      <label htmlFor="wf-endpoint">Endpoint URI</label>
      <input id="wf-endpoint" size={60} value={uri} placeholder={suggested} onChange={(e) => setUri(e.target.value)} />
      <button type="button" disabled={busy || uri === current} onClick={() => onSave(uri)}>
        Save endpoint
      </button>
      {!uri && (
        <button type="button" className="link" onClick={() => setUri(suggested)}>
          Use this server's endpoint
        </button>
      )}
    </div>
  );
}

/** KeysButton generates the endpoint's key pair and uploads its public key to Meta for the channel's number. */
function KeysButton({ channelId }: { channelId: string }) {
  const toast = useToast();
  const [busy, setBusy] = useState(false);
  const [key, setKey] = useState<string | null>(null);
  const [error, setError] = useState('');
  const run = async () => {
    setBusy(true);
    setError('');
    try {
      const out = await api.post('/whatsapp-flows/keys/', { body: { channel_id: channelId } });
      setKey(out.public_key);
      toast('Public key uploaded to Meta');
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" disabled={busy} onClick={() => void run()} title="Generate the endpoint's RSA key pair and upload the public key to Meta">
        {busy ? 'Generating…' : 'Endpoint keys'}
      </button>
      {error && <span className="fail-reason">{error}</span>}
      {key && (
        <Dialog title="Endpoint key uploaded" onClose={() => setKey(null)}>
          <p>Meta encrypts this number's data-exchange requests with this public key; the private key is kept sealed on this server.</p>
          <pre className="mono small">{key}</pre>
        </Dialog>
      )}
    </>
  );
}
