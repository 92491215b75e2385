import { useEffect, useState } from 'react';
import { api, type Schemas } from '../api/client';
import { canEdit, useMe } from '../lib/auth';
import { Link, navigate, useTitle } from '../lib/router';
import { Badge, Dialog, Empty, ErrorBanner, Pager, timeAgo, useLoad, usePager, useToast } from '../components/ui';
import { FlowSettingsDialog } from '../components/FlowSettings';
import { NewFlowDialog } from './NewFlow';

type Flow = Schemas['Flow'];

export default function FlowList() {
  useTitle('Flows');
  const me = useMe();
  const toast = useToast();
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState('');
  const pager = usePager();
  const [creating, setCreating] = useState(false);
  const [settings, setSettings] = useState<Flow | null>(null);
  const [deleting, setDeleting] = useState<Flow | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const t = setTimeout(() => {
      setQuery(search);
      pager.reset();
    }, 250);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);

  const list = useLoad(
    (signal) =>
      api.get('/chat-flow/flows/', {
        query: { search: query || undefined, status: (status || undefined) as 'draft' | undefined, cursor: pager.cursor || undefined, limit: 25 },
        signal,
      }),
    [query, status, pager.cursor],
  );
  const flows = list.data?.results ?? [];
  const editor = canEdit(me);

  const remove = async (f: Flow) => {
    try {
      await api.del('/chat-flow/flows/{flow_id}/', { path: { flow_id: f.id } });
      toast(`Deleted “${f.name}”`);
      setDeleting(null);
      list.reload();
    } catch (e) {
      setError(e);
      setDeleting(null);
    }
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Flows</h1>
        <div className="spacer" />
        {editor && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New flow
          </button>
        )}
      </div>
      <div className="toolbar">
        <input type="search" aria-label="Search flows" placeholder="Search by name…" value={search} onChange={(e) => setSearch(e.target.value)} />
        <select aria-label="Filter by status" value={status} onChange={(e) => { setStatus(e.target.value); pager.reset(); }}>
          <option value="">All statuses</option>
          <option value="draft">Draft</option>
          <option value="published">Published</option>
          <option value="unpublished">Unpublished</option>
        </select>
      </div>
      <ErrorBanner error={error ?? list.error} onDismiss={() => setError(null)} />
      {!list.loading && flows.length === 0 && !list.error ? (
        query || status ? (
          <Empty title="No flow matches">Try another name or status.</Empty>
        ) : (
          <Empty title="No flows yet">
            <p>A flow is the conversation your bot has: start from a ready-made template such as <em>Appointment booking</em>, a blank canvas, or import a JSON file.</p>
            {editor && (
              <button type="button" className="primary" onClick={() => setCreating(true)}>
                Create your first flow
              </button>
            )}
          </Empty>
        )
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Trigger</th>
              <th>Revision</th>
              <th>Last edit</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {flows.map((f) => (
              <tr key={f.id}>
                <td>
                  <Link to={`/flows/${f.id}`}>{f.name}</Link>
                  {f.remark && <div className="muted small">{f.remark}</div>}
                </td>
                <td>
                  <Badge kind={f.status}>{f.status}</Badge>
                </td>
                <td className="small">{triggerText(f.trigger)}</td>
                <td>{f.revision || '—'}</td>
                <td className="small">
                  {timeAgo(f.updated_at)} <span className="muted">by {f.updated_by_name || f.updated_by}</span>
                </td>
                <td className="actions">
                  {editor && (
                    <>
                      <button type="button" onClick={() => setSettings(f)} aria-label={`Settings of ${f.name}`}>
                        Settings
                      </button>
                      <button
                        type="button"
                        className="danger"
                        disabled={f.status === 'published'}
                        title={f.status === 'published' ? 'Unpublish the flow before deleting it' : undefined}
                        onClick={() => setDeleting(f)}
                        aria-label={`Delete ${f.name}`}
                      >
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pager={pager} nextCursor={list.data?.next_cursor} />
      {creating && <NewFlowDialog onClose={() => setCreating(false)} onCreated={(f) => navigate(`/flows/${f.id}`)} />}
      {settings && (
        <FlowSettingsDialog
          flow={settings}
          onClose={() => setSettings(null)}
          onSaved={() => {
            setSettings(null);
            toast('Settings saved');
            list.reload();
          }}
        />
      )}
      {deleting && (
        <Dialog title={`Delete “${deleting.name}”?`} onClose={() => setDeleting(null)}>
          <p>The flow, its draft and its revision history will be deleted. This cannot be undone.</p>
          <div className="dialog-actions">
            <button type="button" onClick={() => setDeleting(null)}>
              Cancel
            </button>
            <button type="button" className="danger" onClick={() => void remove(deleting)}>
              Delete permanently
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}

export function triggerText(t: unknown): string {
  const tr = (t ?? {}) as { type?: string; keywords?: string[]; channel_types?: string[] };
  switch (tr.type) {
    case 'keyword':
      return `Keyword: ${(tr.keywords ?? []).join(', ')}`;
    case 'inbound':
      return `Inbound ${(tr.channel_types ?? []).join(', ') || 'message'}`;
    case 'campaign':
      return 'Campaign';
    case 'api':
      return 'API';
    default:
      return 'Manual / API';
  }
}
