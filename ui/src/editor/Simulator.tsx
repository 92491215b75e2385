// The simulator: runs the flow through the real engine (the simulator API)
// and shows the conversation as WhatsApp bubbles, with the trace beside it.
import { lazy, Suspense, useEffect, useRef, useState, type FormEvent } from 'react';
import { api, errorMessage, type Schemas } from '../api/client';
import { limits } from '../api/limits';
import { TabPanel, Tabs } from '../components/ui';
import { CallResult, LiveCallCard, type CallResultData } from './CallCard';
// The form preview loads only when a form is opened, so the editor opens
// as fast as before.
const Preview = lazy(() => import('../waform/Preview').then((m) => ({ default: m.Preview })));

type SimSession = Schemas['SimSession'];
type SimMessage = Schemas['MessageView'];
type SimInput = Schemas['SimMessageInputBody'];
type ListMsg = { button: string; sections: { title?: string; rows: { id: string; title: string; description?: string }[] }[] };
const simulator = {
  start: (body: Schemas['SimStartInputBody']) => api.post('/simulator/sessions/', { body }),
  send: (id: string, body: SimInput) => api.post('/simulator/sessions/{session_id}/messages/', { path: { session_id: id }, body }),
  timeout: (id: string) => api.post('/simulator/sessions/{session_id}/timeout/', { path: { session_id: id } }),
  get: (id: string) => api.get('/simulator/sessions/{session_id}/', { path: { session_id: id } }),
};

export function Simulator({
  flowId,
  prepare,
  onTrace,
  onFocusNode,
}: {
  flowId: string;
  /** Saves the draft first; false when it could not be saved. */
  prepare: () => Promise<boolean>;
  onTrace: (path: string[], current: string) => void;
  onFocusNode: (id: string) => void;
}) {
  const [session, setSession] = useState<SimSession | null>(null);
  const [draft, setDraft] = useState(true);
  const [name, setName] = useState('Test User');
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [openList, setOpenList] = useState<string | null>(null);
  const [openForm, setOpenForm] = useState<string | null>(null);
  const [tab, setTab] = useState<'chat' | 'trace'>('chat');
  const end = useRef<HTMLDivElement>(null);
  const phone = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLInputElement>(null);
  // Where focus goes once the reply is shown: after Start or a tapped
  // button, to the new reply buttons (else the message box); after a typed
  // message, back to the message box, so a keyboard user keeps typing.
  const focusNext = useRef<'buttons' | 'input' | null>(null);

  useEffect(() => {
    end.current?.scrollIntoView({ block: 'end' });
    const want = focusNext.current;
    focusNext.current = null;
    if (want) {
      const b = want === 'buttons' ? phone.current?.querySelector<HTMLButtonElement>('.bubble.active .bbuttons button:not(:disabled)') : null;
      (b ?? input.current)?.focus();
    }
    const path = session?.path ?? [];
    onTrace(path, session?.waiting_for?.node_id || path[path.length - 1] || '');
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session]);
  useEffect(() => () => onTrace([], ''), [onTrace]);

  const run = async (f: () => Promise<SimSession>) => {
    setBusy(true);
    setError('');
    try {
      setSession(await f());
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  const start = async () => {
    if (draft && !(await prepare())) return;
    setOpenList(null);
    focusNext.current = 'buttons';
    await run(() => simulator.start({ flow_id: flowId, draft, contact: { name: name.trim(), phone: '+15550100000' } }));
  };
  const send = (msg: SimInput) => {
    if (!session) return;
    focusNext.current = msg.text !== undefined ? 'input' : 'buttons';
    return run(() => simulator.send(session.id, msg));
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim() || busy) return;
    void send({ text });
    setText('');
  };
  // The call's result reaches the session a moment after it is recorded.
  const refreshAfterCall = async (id: string) => {
    for (let i = 0; i < 20; i++) {
      try {
        const s = await simulator.get(id);
        if (s.waiting_for?.kind !== 'call' || s.status !== 'waiting') {
          setSession(s);
          return;
        }
      } catch (e) {
        setError(errorMessage(e));
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const live = session && (session.status === 'waiting' || session.status === 'active');
  const waiting = session?.waiting_for;
  const canTimeout = live && waiting && (waiting.timeout_at || waiting.kind === 'delay' || waiting.kind === 'handoff');
  const messages = session?.messages ?? [];
  const lastOut = [...messages].reverse().find((m) => m.direction === 'out');

  return (
    <section className="simulator" aria-label="Simulator">
      <div className="sim-controls">
        <label className="small">
          <input type="checkbox" checked={draft} onChange={(e) => setDraft(e.target.checked)} /> Run the draft
        </label>
        <label className="small">
          Contact name <input value={name} maxLength={limits.ContactStruct.name} onChange={(e) => setName(e.target.value)} size={10} />
        </label>
        <button type="button" className="primary" disabled={busy} onClick={() => void start()}>
          {session ? 'Restart' : 'Start'}
        </button>
      </div>
      <Tabs
        label="Simulator view"
        idBase="sim"
        className="tabs small-tabs"
        value={tab}
        onChange={setTab}
        items={[
          { id: 'chat', label: 'Chat' },
          { id: 'trace', label: 'Trace' },
        ]}
      />
      {error && (
        <div className="error-banner" role="alert">
          {error}
        </div>
      )}
      <TabPanel idBase="sim" value={tab} className="simulator">
      {tab === 'chat' ? (
        <>
          <div className="phone" aria-label="Conversation" role="log" ref={phone}>
            {!session && (
              <p className="muted small center">
                Start the simulator to talk to this flow like a WhatsApp contact. Nothing is sent to real people, and simulated sessions do not count in analytics.
              </p>
            )}
            {messages.map((m) =>
              m.type === 'call' && m.call ? (
                <div key={m.id} className="bubble in call-bubble">
                  <CallResult r={m.call as CallResultData} />
                </div>
              ) : (
                <Bubble key={m.id} m={m} active={m === lastOut && !!live} busy={busy} onButton={(b) => void send({ button: b })} onOpenList={() => setOpenList(m.id)} onOpenForm={() => setOpenForm(m.id)} />
              ),
            )}
            {session && live && waiting?.kind === 'call' && (
              <LiveCallCard key={`${session.id}:${waiting.node_id}:${messages.length}`} sessionId={session.id} onEnded={() => void refreshAfterCall(session.id)} />
            )}
            {session && !live && (
              <p className="sim-status" role="status">
                Session {session.status}
              </p>
            )}
            <div ref={end} />
          </div>
          {openList && lastOut?.id === openList && !!lastOut.list && (
            <ListSheet list={lastOut.list as ListMsg} onClose={() => setOpenList(null)} onPick={(id) => { setOpenList(null); void send({ list_reply: id }); }} />
          )}
          {openForm && lastOut?.id === openForm && !!lastOut.flow && (
            <FormSheet
              form={lastOut.flow}
              onClose={() => setOpenForm(null)}
              onComplete={(payload) => {
                setOpenForm(null);
                void send({ flow_response: payload });
              }}
            />
          )}
          {live && waiting?.kind === 'call' ? (
            // On a call: the person talks in the call card, not the chat.
            <div className="sim-input sim-ended">
              <span className="muted small">On a call: you are the callee — talk in the call card above.</span>
            </div>
          ) : session && !live ? (
            // The session is over: typing would go nowhere, so the input offers a new run.
            <div className="sim-input sim-ended">
              <span className="muted small">The conversation has ended.</span>
              <button type="button" className="primary" disabled={busy} onClick={() => void start()}>
                Restart the conversation
              </button>
            </div>
          ) : (
            <form className="sim-input" onSubmit={submit}>
              {/* Not disabled while a reply is on its way: a disabled field loses the focus. */}
              <input ref={input} aria-label="Message" maxLength={limits.SimMessageInputBody.text} placeholder={live ? 'Type a message' : 'Press Start first'} value={text} onChange={(e) => setText(e.target.value)} disabled={!live} readOnly={busy} />
              <button type="submit" disabled={!live || busy}>
                Send
              </button>
            </form>
          )}
          <div className="row gap small">
            {waiting && live && (
              <span className="muted">
                Waiting for {waiting.kind || 'input'}
                {waiting.timeout_at ? ` until ${new Date(waiting.timeout_at).toLocaleTimeString()}` : ''}
              </span>
            )}
            <div className="spacer" />
            <button type="button" disabled={!canTimeout || busy} onClick={() => session && void run(() => simulator.timeout(session.id))}>
              Fire timeout
            </button>
          </div>
        </>
      ) : (
        <Trace session={session} onFocusNode={onFocusNode} />
      )}
      </TabPanel>
    </section>
  );
}

function Ticks({ status }: { status?: string }) {
  if (!status || status === 'received') return null;
  const t = status === 'read' ? '✓✓' : status === 'delivered' ? '✓✓' : status === 'sent' ? '✓' : status === 'failed' ? '!' : '🕓';
  return (
    <span className={`ticks t-${status}`} aria-label={status} title={status}>
      {t}
    </span>
  );
}

function Bubble({
  m,
  active,
  busy,
  onButton,
  onOpenList,
  onOpenForm,
}: {
  m: SimMessage;
  active: boolean;
  busy: boolean;
  onButton: (b: string) => void;
  onOpenList: () => void;
  onOpenForm: () => void;
}) {
  const tpl = m.template;
  const list = m.list as ListMsg | undefined;
  return (
    <div className={`bubble ${m.direction === 'in' ? 'in' : 'out'}${active ? ' active' : ''}`}>
      {m.media && (
        <div className="media">
          {m.media.type === 'image' ? <img src={m.media.url} alt={m.media.caption || 'image'} /> : <a href={m.media.url}>📎 {m.media.type}</a>}
          {m.media.caption && <div>{m.media.caption}</div>}
        </div>
      )}
      {tpl && !m.text && <div className="muted small">Template {tpl.name}</div>}
      {m.flow && <div className="muted small">WhatsApp Flow “{m.flow.cta}”</div>}
      {(m.text || m.flow?.body) && <div className="btext">{m.text || m.flow?.body}</div>}
      {m.direction === 'in' && m.data && Object.keys(m.data).length > 0 && (
        <dl className="form-answers small" aria-label="Form answers">
          {Object.entries(m.data)
            .filter(([k]) => k !== 'flow_token')
            .map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
              </div>
            ))}
        </dl>
      )}
      <Ticks status={m.status} />
      {m.buttons && m.buttons.length > 0 && (
        <div className="bbuttons">
          {m.buttons.map((b) => (
            <button type="button" key={b} disabled={!active || busy} onClick={() => onButton(b)}>
              {b}
            </button>
          ))}
        </div>
      )}
      {tpl?.quick_replies && tpl.quick_replies.length > 0 && (
        <div className="bbuttons">
          {tpl.quick_replies.map((b) => (
            <button type="button" key={b} disabled={!active || busy} onClick={() => onButton(b)}>
              {b}
            </button>
          ))}
        </div>
      )}
      {list && (
        <div className="bbuttons">
          <button type="button" disabled={!active || busy} onClick={onOpenList}>
            ☰ {list.button}
          </button>
        </div>
      )}
      {m.flow && m.direction !== 'in' && (
        <div className="bbuttons">
          <button type="button" disabled={!active || busy} onClick={onOpenForm}>
            ▤ {m.flow.cta}
          </button>
        </div>
      )}
    </div>
  );
}

/** FormSheet opens a WhatsApp Flow message's form as the customer's phone would, and sends its answers when completed. */
function FormSheet({ form, onClose, onComplete }: { form: Schemas['FlowMessage']; onClose: () => void; onComplete: (payload: Record<string, unknown>) => void }) {
  const [json, setJson] = useState<string | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api.get('/whatsapp-flows/{wa_flow_id}/', { path: { wa_flow_id: form.id } }).then(
      (f) => setJson(f.flow_json),
      (e) => setError(errorMessage(e)),
    );
  }, [form.id]);
  const data = form.data && typeof form.data === 'object' ? (form.data as Record<string, unknown>) : undefined;
  return (
    <div className="list-sheet form-sheet" role="dialog" aria-label="WhatsApp Flow form">
      <div className="row">
        <b>{form.cta}</b>
        <div className="spacer" />
        <button type="button" className="icon" aria-label="Close the form" onClick={onClose}>
          ×
        </button>
      </div>
      {error && <div className="error-banner">{error}</div>}
      {json === null ? (
        !error && <p className="muted small">Opening the form…</p>
      ) : (
        <Suspense fallback={<p className="muted small">Opening the form…</p>}>
          <Preview flow={json} sampleData={data} onComplete={onComplete} />
        </Suspense>
      )}
    </div>
  );
}

function Trace({ session, onFocusNode }: { session: SimSession | null; onFocusNode: (id: string) => void }) {
  if (!session) return <p className="muted small">The trace shows each node the session entered, the variables and any errors.</p>;
  return (
    <div className="trace">
      <h4>Path</h4>
      <ol className="path">
        {(session.path ?? []).map((id, i) => (
          <li key={i}>
            <button type="button" className="link" onClick={() => onFocusNode(id)}>
              {id}
            </button>
          </li>
        ))}
      </ol>
      <h4>Variables</h4>
      <pre className="vars">{JSON.stringify(session.variables ?? {}, null, 2)}</pre>
      {(session.errors ?? []).length > 0 && (
        <>
          <h4>Errors</h4>
          <ul className="problem-list">
            {(session.errors ?? []).map((e, i) => (
              <li key={i} className="error">
                {e.node_id && <code>{e.node_id}</code>} {e.text}
              </li>
            ))}
          </ul>
        </>
      )}
      <h4>Steps</h4>
      <ol className="steps small">
        {(session.trace ?? []).map((t, i) => (
          <li key={i}>
            <strong>{t.kind}</strong> {t.node_id && <code>{t.node_id}</code>} {t.data != null && <span className="muted">{JSON.stringify(t.data)}</span>}
          </li>
        ))}
      </ol>
    </div>
  );
}

function ListSheet({ list, onClose, onPick }: { list: ListMsg; onClose: () => void; onPick: (id: string) => void }) {
  return (
    <div className="list-sheet" role="dialog" aria-label={list.button}>
      <div className="row">
        <strong>{list.button}</strong>
        <div className="spacer" />
        <button type="button" className="icon" aria-label="Close list" onClick={onClose}>
          ×
        </button>
      </div>
      {(list.sections ?? []).map((s, i) => (
        <div key={i}>
          {s.title && <div className="muted small">{s.title}</div>}
          {(s.rows ?? []).map((r) => (
            <button type="button" key={r.id} className="list-row" onClick={() => onPick(r.id)}>
              <span>{r.title}</span>
              {r.description && <span className="muted small">{r.description}</span>}
            </button>
          ))}
        </div>
      ))}
    </div>
  );
}
