import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
import { limits, queryLimits } from '../api/limits';
import { canEdit, useMe } from '../lib/auth';
import { Link, useTitle } from '../lib/router';
import { Badge, Dialog, Empty, ErrorBanner, Pager, TabPanel, Tabs, timeAgo, useLoad, usePager, useToast } from '../components/ui';
import { ChannelLogList } from '../components/ChannelLog';
import { VariablesView } from '../components/VariablesView';
import { CallResult, type CallResultData } from '../editor/CallCard';

type Msg = Schemas['MessageView'];

export default function Conversations({ contactId }: { contactId?: string }) {
  useTitle('Conversations');
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  // Conversations handed to a person (a handoff node) wait for someone to reply.
  const [waiting, setWaiting] = useState(false);
  const pager = usePager();
  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(search);
      pager.reset();
    }, 250);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);
  const list = useLoad(
    (signal) => api.get('/contacts/', { query: { search: query.trim() || undefined, waiting_for_human: waiting || undefined, cursor: pager.cursor || undefined, limit: 30 }, signal }),
    [query, waiting, pager.cursor],
  );
  const contacts = list.data?.results ?? [];
  // New handoffs show up without a reload.
  useEffect(() => {
    const t = setInterval(() => list.reload(), 10000);
    return () => clearInterval(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Conversations</h1>
      </div>
      {/* On a phone one pane shows at a time: the list, or the open conversation. */}
      <div className={contactId ? 'split inbox show-detail' : 'split inbox'}>
        <div className="inbox-list">
          <input type="search" aria-label="Search contacts" placeholder="Name or phone…" maxLength={queryLimits['list-contacts'].search} value={search} onChange={(e) => setSearch(e.target.value)} style={{ width: '100%', marginBottom: 8 }} />
          <Tabs
            label="Show"
            idBase="inbox"
            className="tabs small-tabs inbox-filter"
            value={waiting ? 'waiting' : 'all'}
            onChange={(v) => { setWaiting(v === 'waiting'); pager.reset(); }}
            items={[
              { id: 'all', label: 'All' },
              { id: 'waiting', label: 'Waiting for a human' },
            ]}
          />
          <TabPanel idBase="inbox" value={waiting ? 'waiting' : 'all'}>
          <ErrorBanner error={list.error} />
          {!list.loading && !list.error && contacts.length === 0 ? (
            waiting ? (
              <Empty title={query ? 'No waiting conversation matches' : 'No conversation waits for a human'}>
                <p>A conversation lands here when a flow reaches a Handoff node; the bot stays silent until someone replies and releases it.</p>
              </Empty>
            ) : (
              <Empty title={query ? 'No contact matches' : 'No contacts yet'}>
                {!query && <p>Contacts appear when someone messages one of your channels, or when a flow is started for them. Connect a channel on the Channels page.</p>}
              </Empty>
            )
          ) : (
            <nav className="list-panel" aria-label="Contacts">
              <ul>
                {contacts.map((c) => (
                  <li key={c.id}>
                    <Link to={`/conversations/${c.id}`} aria-current={c.id === contactId ? 'true' : undefined}>
                      <strong>{c.name || c.phone || 'Unnamed contact'}</strong> {c.waiting_for_human && <Badge kind="handoff">waiting for a human</Badge>} {c.opted_out && <Badge kind="error">opted out</Badge>}
                      <div className="muted small">
                        {c.phone} {c.last_inbound_at && `· ${timeAgo(c.last_inbound_at)}`}
                      </div>
                      {(c.tags ?? []).length > 0 && (
                        <div className="tags">
                          {(c.tags ?? []).map((t) => (
                            <span className="tag" key={t}>
                              {t}
                            </span>
                          ))}
                        </div>
                      )}
                    </Link>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          <Pager pager={pager} nextCursor={list.data?.next_cursor} />
          </TabPanel>
        </div>
        <div className="inbox-detail">
          {contactId && (
            <Link to="/conversations" className="inbox-back">
              ← All conversations
            </Link>
          )}
          {contactId ? <ContactView key={contactId} id={contactId} onContactsChanged={list.reload} /> : <Empty title="Pick a contact">Their messages, current session and a reply box show here.</Empty>}
        </div>
      </div>
    </div>
  );
}

// Ticks are the status of an outbound message; clicking them opens the
// message's channel log entries (why did this fail?).
function Ticks({ m, onOpen }: { m: Msg; onOpen: () => void }) {
  if (m.direction === 'in') return null;
  const t = { queued: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '⚠', received: '' }[m.status] ?? '';
  return (
    <button type="button" className={`ticks t-${m.status}`} aria-label={`${m.status}: show the channel log`} title={`${m.status} — show the channel log`} onClick={onOpen}>
      {t}
    </button>
  );
}

/** FormAnswers lists a completed WhatsApp Flow's answers. */
export function FormAnswers({ data }: { data: Record<string, unknown> }) {
  const rows = Object.entries(data).filter(([k]) => k !== 'flow_token');
  return (
    <dl className="form-answers small" aria-label="Form answers">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

function msgText(m: Msg): string {
  if (m.type === 'call') return 'Call';
  if (m.type === 'flow_completion') return '📋 Form completed';
  if (m.text) return m.text;
  if (m.button) return m.button;
  if (m.list_reply) return `[list] ${m.list_reply}`;
  if (m.template) return `[template ${m.template.name ?? ''}] ${(m.template.body ?? []).join(', ')}`;
  if (m.media) return `[${m.media.type}] ${m.media.caption ?? ''}`;
  if (m.flow) return `[WhatsApp Flow] ${m.flow.body}`;
  return `[${m.type}]`;
}

function ContactView({ id, onContactsChanged }: { id: string; onContactsChanged: () => void }) {
  const me = useMe();
  const editor = canEdit(me);
  const toast = useToast();
  const contact = useLoad((signal) => api.get('/contacts/{contact_id}/', { path: { contact_id: id }, signal }), [id]);
  const [older, setOlder] = useState<Msg[]>([]);
  const [cursor, setCursor] = useState('');
  const msgs = useLoad(
    async (signal) => {
      const r = await api.get('/conversations/{contact_id}/messages/', { path: { contact_id: id }, query: { limit: 50 }, signal });
      setOlder([]);
      setCursor(r.next_cursor);
      return r.results ?? [];
    },
    [id],
  );
  // Every channel's messages are in one timeline, each labelled with its channel.
  const channels = useLoad((signal) => api.get('/channels/', { signal }), []);
  const channelName = (cid: string) => {
    const ch = (channels.data?.results ?? []).find((x) => x.id === cid);
    return ch ? `${ch.name} · ${ch.type}` : cid ? 'removed channel' : 'simulator';
  };
  const [merging, setMerging] = useState(false);
  const sessionId = contact.data?.session?.id;
  const session = useLoad(async (signal) => (sessionId ? api.get('/sessions/{session_id}/', { path: { session_id: sessionId }, signal }) : null), [sessionId]);
  // With no live session, the last one ended: its outcome and variables
  // (a completed form's answers, say) are still worth seeing. A new message
  // (a call's result, say) may come with a newer one: it is read again then.
  const lastEnded = useLoad(
    async (signal) => {
      if (!contact.data || sessionId) return null;
      const l = await api.get('/sessions/', { query: { contact: id, limit: 1 }, signal });
      const last = (l.results ?? [])[0];
      return last ? api.get('/sessions/{session_id}/', { path: { session_id: last.id }, signal }) : null;
    },
    [id, sessionId, !!contact.data, msgs.data?.[0]?.id],
  );
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [logOf, setLogOf] = useState<Msg | null>(null);
  const reload = () => {
    contact.reload();
    msgs.reload();
  };
  // The same poll refreshes the messages and the contact, whose session
  // (a call that ends, a wait that times out) the panels below show.
  useEffect(() => {
    const t = setInterval(() => {
      msgs.reload();
      contact.reload();
    }, 5000);
    return () => clearInterval(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);
  // The session's variables follow its progress: read it again when it moves.
  const sessionState = contact.data?.session ? `${contact.data.session.status}:${contact.data.session.node_id}:${contact.data.session.waiting_for ?? ''}` : '';
  const seenState = useRef(sessionState);
  useEffect(() => {
    if (seenState.current === sessionState) return;
    seenState.current = sessionState;
    if (sessionId) session.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sessionState]);

  const act = async (f: () => Promise<unknown>, ok: string) => {
    setBusy(true);
    setError(null);
    try {
      await f();
      toast(ok);
      reload();
      session.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const send = (e: FormEvent) => {
    e.preventDefault();
    if (!text.trim()) return;
    void act(() => api.post('/conversations/{contact_id}/messages/', { path: { contact_id: id }, body: { text } }), 'Sent').then(() => setText(''));
  };
  const loadOlder = async () => {
    try {
      const r = await api.get('/conversations/{contact_id}/messages/', { path: { contact_id: id }, query: { limit: 50, cursor } });
      setOlder((o) => [...o, ...(r.results ?? [])]);
      setCursor(r.next_cursor);
    } catch (e) {
      setError(e);
    }
  };
  const c = contact.data;
  const s = session.data;
  const live = c?.session && ['active', 'waiting'].includes(c.session.status);
  const all = [...(msgs.data ?? []), ...older].reverse();
  return (
    <div>
      <ErrorBanner error={error ?? contact.error ?? msgs.error} onDismiss={() => setError(null)} />
      {c && (
        <section className="panel" aria-label="Contact">
          <div className="row">
            <h2>{c.name || c.phone || 'Unnamed contact'}</h2>
            {c.opted_out && <Badge kind="error">opted out {c.opted_out_at ? timeAgo(c.opted_out_at) : ''}</Badge>}
            {c.assignee && <Badge kind="draft">assigned to {c.assignee_name || c.assignee}</Badge>}
            <div className="spacer" />
            {editor && (
              <button type="button" onClick={() => setMerging(true)}>
                Merge another contact…
              </button>
            )}
          </div>
          <dl className="kv">
            <dt>Phone</dt>
            <dd>{c.phone}</dd>
            {c.language && (
              <>
                <dt>Language</dt>
                <dd>{c.language}</dd>
              </>
            )}
            <dt>Addresses</dt>
            <dd>
              <ul className="plain" aria-label="Addresses">
                {(c.urns ?? []).map((u) => (
                  <li key={u.scheme + ':' + u.path}>
                    <Badge kind="">{u.scheme === 'tel' ? 'verified phone' : u.scheme}</Badge> <code>{u.path}</code>
                    {u.channel_id && <span className="muted small"> on {channelName(u.channel_id)}</span>}
                  </li>
                ))}
              </ul>
            </dd>
            <dt>Tags</dt>
            <dd>{(c.tags ?? []).join(', ') || '—'}</dd>
            {Object.entries(c.fields ?? {}).map(([k, v]) => (
              <FragmentKV key={k} k={k} v={v} />
            ))}
          </dl>
        </section>
      )}
      {c?.waiting_for_human && (
        <div className="notice handoff-notice" role="status">
          <strong>Waiting for a human.</strong> The flow handed this conversation to your team and the bot stays silent: reply below{editor ? ', then press Release handoff to let the bot take over again' : ''}.
        </div>
      )}
      {!c?.session && lastEnded.data && (
        <section className="panel" aria-label="Last session">
          <div className="row">
            <h3>Last session</h3>
            <Badge kind="">{lastEnded.data.status}</Badge>
          </div>
          <p className="small muted">
            {lastEnded.data.end_reason} · <Link to={`/flows/${lastEnded.data.flow_id}`}>{lastEnded.data.flow_name || "flow"}</Link>
          </p>
          {Object.keys(lastEnded.data.variables ?? {}).length > 0 && (
            <>
              <h4>Variables</h4>
              <VariablesView vars={lastEnded.data.variables ?? {}} label="Last session's variables" />
            </>
          )}
        </section>
      )}
      {c?.session && (
        <section className="panel" aria-label="Current session">
          <div className="row">
            <h3>Session</h3>
            <Badge kind={live ? 'published' : ''}>{c.session.status}</Badge>
            <div className="spacer" />
            {editor && live && c.session.waiting_for === 'handoff' && (
              <button type="button" disabled={busy} onClick={() => void act(() => api.post('/contacts/{contact_id}/release/', { path: { contact_id: id } }), 'Released: the bot takes over again')}>
                Release handoff
              </button>
            )}
            {editor && live && (
              <button type="button" className="danger" disabled={busy} onClick={() => void act(() => api.post('/sessions/{session_id}/interrupt/', { path: { session_id: c.session.id }, body: { reason: 'interrupted from the UI' } }), 'Session interrupted')}>
                Interrupt
              </button>
            )}
          </div>
          <dl className="kv">
            <dt>Flow</dt>
            <dd>
              <Link to={`/flows/${c.session.flow_id}`}>{c.session.flow_name || c.session.flow_id}</Link> (revision {c.session.revision})
            </dd>
            <dt>At node</dt>
            <dd>
              <code>{c.session.node_id || '—'}</code> {c.session.waiting_for && `waiting for ${c.session.waiting_for}`}
            </dd>
            {c.session.timeout_at && (
              <>
                <dt>Times out</dt>
                <dd>{new Date(c.session.timeout_at).toLocaleString()}</dd>
              </>
            )}
          </dl>
          {s && Object.keys(s.variables ?? {}).length > 0 && (
            <>
              <h4>Variables</h4>
              <VariablesView vars={s.variables ?? {}} label="Session variables" />
            </>
          )}
        </section>
      )}
      <section className="panel" aria-label="Messages">
        <h3>Messages</h3>
        {cursor && (
          <button type="button" className="link" onClick={() => void loadOlder()}>
            Load older messages
          </button>
        )}
        <div className="phone" role="log" aria-label="Message history">
          {all.length === 0 && !msgs.loading && <p className="muted small center">No messages yet.</p>}
          {all.map((m) => (
            <div key={m.id} className={`bubble ${m.direction === 'in' ? 'in' : 'out'}`}>
              <div className="chan-label small" aria-label="Channel">
                {channelName(m.channel_id)}
              </div>
              {m.type === 'call' && m.call ? <CallResult r={m.call as CallResultData} /> : <div className="btext">{msgText(m)}</div>}
              {m.type === 'flow_completion' && m.data && <FormAnswers data={m.data} />}
              {(m.buttons ?? []).length > 0 && <div className="muted small">[{(m.buttons ?? []).join(' | ')}]</div>}
              <div className="muted small">
                {new Date(m.created_at).toLocaleString()} <Ticks m={m} onOpen={() => setLogOf(m)} />
              </div>
              {m.status === 'failed' && (
                <button type="button" className="link fail-reason" onClick={() => setLogOf(m)}>
                  Failed{m.error_code ? ` (${m.error_code})` : ''}: {m.error_reason || 'no reason given'} — why?
                </button>
              )}
            </div>
          ))}
        </div>
        {editor && (
          <form className="sim-input" onSubmit={send} style={{ marginTop: 8 }}>
            <input aria-label="Reply as an agent" placeholder="Reply as a human agent…" maxLength={limits.AgentMessageInputBody.text} value={text} onChange={(e) => setText(e.target.value)} />
            <button type="submit" disabled={busy || !text.trim()}>
              Send
            </button>
          </form>
        )}
      </section>
      {merging && c && (
        <MergeDialog
          into={c}
          onClose={() => setMerging(false)}
          onMerged={(name) => {
            setMerging(false);
            toast(`Merged ${name} into ${c.name || c.phone}`);
            reload();
            onContactsChanged();
          }}
        />
      )}
      {logOf && (
        <Dialog wide title={`Channel log of this message (${logOf.status})`} onClose={() => setLogOf(null)}>
          {logOf.error_reason && (
            <p className="error-text">
              {logOf.error_code ? `${logOf.error_code}: ` : ''}
              {logOf.error_reason}
            </p>
          )}
          <ChannelLogList channelId={logOf.channel_id} messageId={logOf.id} />
        </Dialog>
      )}
    </div>
  );
}

function FragmentKV({ k, v }: { k: string; v: unknown }) {
  return (
    <>
      <dt>{k}</dt>
      <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
    </>
  );
}

// MergeDialog finds another contact (the same person on another channel)
// and merges it into this one: its addresses, messages and session move
// here and it is deleted.
function MergeDialog({ into, onClose, onMerged }: { into: Schemas['ContactDetail']; onClose: () => void; onMerged: (name: string) => void }) {
  const [search, setSearch] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const found = useLoad((signal) => api.get('/contacts/', { query: { search: search || undefined, limit: 20 }, signal }), [search]);
  const others = (found.data?.results ?? []).filter((x) => x.id !== into.id);
  const merge = async (other: Schemas['Contact']) => {
    setBusy(true);
    setError(null);
    try {
      await api.post('/contacts/{contact_id}/merge/', { path: { contact_id: into.id }, body: { contact_id: other.id } });
      onMerged(other.name || other.phone || other.id);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Merge into ${into.name || into.phone}`} onClose={onClose}>
      <p className="hint">The contact you pick is the same person on another channel: its addresses, messages and session move to {into.name || into.phone}, and it is removed. This cannot be undone.</p>
      <ErrorBanner error={error ?? found.error} onDismiss={() => setError(null)} />
      <input type="search" aria-label="Find the contact to merge" placeholder="Name or phone…" value={search} onChange={(e) => setSearch(e.target.value)} style={{ width: '100%' }} />
      <ul className="plain merge-list">
        {others.map((o) => (
          <li key={o.id} className="row">
            <span>
              <strong>{o.name || o.phone || o.id}</strong> <span className="muted small">{o.phone}</span>
            </span>
            <div className="spacer" />
            <button type="button" disabled={busy} onClick={() => void merge(o)} aria-label={`Merge ${o.name || o.phone || o.id}`}>
              Merge
            </button>
          </li>
        ))}
        {!found.loading && others.length === 0 && <li className="muted small">No other contact matches.</li>}
      </ul>
    </Dialog>
  );
}
