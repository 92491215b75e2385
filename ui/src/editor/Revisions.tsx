import { useState } from 'react';
import { api, type Schemas } from '../api/client';
import { ErrorBanner, Pager, timeAgo, useLoad, usePager } from '../components/ui';

type Flow = Schemas['Flow'];

export function Revisions({ flow, dirty, onRestored }: { flow: Flow; dirty: boolean; onRestored: (f: Flow) => void }) {
  const pager = usePager();
  const list = useLoad(
    (signal) => api.get('/chat-flow/flows/{flow_id}/revisions/', { path: { flow_id: flow.id }, query: { cursor: pager.cursor || undefined }, signal }),
    [flow.id, flow.revision, pager.cursor],
  );
  const [error, setError] = useState<unknown>(null);
  const restore = async (n: number) => {
    if (dirty && !window.confirm('Restoring replaces your unsaved changes. Continue?')) return;
    try {
      const f = await api.post('/chat-flow/flows/{flow_id}/revisions/{revision}/restore/', {
        path: { flow_id: flow.id, revision: n },
        headers: { 'If-Match': `"${flow.version}"` },
      });
      onRestored(f);
    } catch (e) {
      setError(e);
    }
  };
  const revs = list.data?.results ?? [];
  return (
    <div>
      <ErrorBanner error={error ?? list.error} onDismiss={() => setError(null)} />
      {!list.loading && revs.length === 0 && <p className="muted">No revisions yet: each publish records one, and you can restore any of them into the draft.</p>}
      <ul className="revisions" aria-label="Revisions">
        {revs.map((r) => (
          <li key={r.revision}>
            <div>
              <strong>Revision {r.revision}</strong> {r.live && <span className="badge badge-published">live</span>}
              <div className="muted small">
                {timeAgo(r.published_at)} by {r.published_by_name || r.published_by}
              </div>
            </div>
            <button type="button" onClick={() => void restore(r.revision)} aria-label={`Restore revision ${r.revision}`}>
              Restore
            </button>
          </li>
        ))}
      </ul>
      <Pager pager={pager} nextCursor={list.data?.next_cursor} />
    </div>
  );
}
