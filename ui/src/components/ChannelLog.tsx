// The channel log (every call to a provider and every webhook, redacted by
// the server) and a channel's dead letters (authentic webhooks that could
// not be processed), with their replay.
import { useState } from 'react';
import { api, type Schemas } from '../api/client';
import { Badge, Empty, ErrorBanner, Pager, useLoad, usePager, useToast } from './ui';

type Entry = Schemas['ChannelLogEntry'];
type DeadLetter = Schemas['DeadLetterView'];

function failed(e: Entry) {
  return !!e.error || e.status_code >= 400;
}

function Headers({ h }: { h: unknown }) {
  const entries = h && typeof h === 'object' ? Object.entries(h as Record<string, string[] | null>) : [];
  if (entries.length === 0) return <p className="muted small">No headers.</p>;
  return (
    <pre className="log-pre small">
      {entries
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}: ${(v ?? []).join(', ')}`)
        .join('\n')}
    </pre>
  );
}

function Body({ text }: { text: string }) {
  if (!text) return <p className="muted small">Empty.</p>;
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    /* not JSON: shown as received */
  }
  return <pre className="log-pre small">{shown}</pre>;
}

/** One entry: a summary line that opens to the request and the response. */
export function LogEntry({ e, open }: { e: Entry; open?: boolean }) {
  return (
    <details className={`log-entry ${failed(e) ? 'log-failed' : ''}`} open={open} aria-label={`Log entry ${e.kind} ${e.status_code}`}>
      <summary>
        <Badge kind={failed(e) ? 'error' : 'ok'}>{e.status_code || 'no answer'}</Badge> <Badge kind="">{e.kind}</Badge> <code>{e.method}</code>{' '}
        <span className="log-url">{e.url}</span> <span className="muted small">
          {new Date(e.created_at).toLocaleString()} · {e.duration_ms} ms
        </span>
        {e.error && <div className="error-text small">{e.error}</div>}
      </summary>
      <div className="log-detail">
        {e.message_id && (
          <p className="small">
            Message <code>{e.message_id}</code>
          </p>
        )}
        <h4>{e.kind === 'webhook' ? 'Webhook received' : 'Request'}</h4>
        <Headers h={e.request_headers} />
        <Body text={e.request_body} />
        <h4>{e.kind === 'webhook' ? 'Our answer' : 'Response'}</h4>
        <Headers h={e.response_headers} />
        <Body text={e.response_body} />
      </div>
    </details>
  );
}

/** A channel's log, newest first, optionally one message's entries only. */
export function ChannelLogList({ channelId, messageId }: { channelId: string; messageId?: string }) {
  const [kind, setKind] = useState<'' | 'request' | 'webhook'>('');
  const [errors, setErrors] = useState(false);
  const pager = usePager();
  const list = useLoad(
    (signal) =>
      api.get('/channels/{channel_id}/logs/', {
        path: { channel_id: channelId },
        query: { message_id: messageId || undefined, kind: kind || undefined, errors: errors || undefined, cursor: pager.cursor || undefined, limit: 20 },
        signal,
      }),
    [channelId, messageId, kind, errors, pager.cursor],
  );
  const rows = list.data?.results ?? [];
  const onlyFailures = list.data?.recording === 'failures';
  return (
    <div aria-label="Channel log">
      {!messageId && (
        <div className="row small">
          <label>
            Kind{' '}
            <select
              aria-label="Log kind"
              value={kind}
              onChange={(e) => {
                setKind(e.target.value as typeof kind);
                pager.reset();
              }}
            >
              <option value="">all</option>
              <option value="request">calls to the provider</option>
              <option value="webhook">webhooks received</option>
            </select>
          </label>
          {/* Where only failures are kept, the filter would change nothing. */}
          {!onlyFailures && (
            <label>
              <input
                type="checkbox"
                checked={errors}
                onChange={(e) => {
                  setErrors(e.target.checked);
                  pager.reset();
                }}
              />{' '}
              failures only
            </label>
          )}
          <div className="spacer" />
          <button type="button" onClick={list.reload}>
            Refresh
          </button>
        </div>
      )}
      <ErrorBanner error={list.error} />
      {onlyFailures && (
        <p className="small muted" role="note">
          This server records failures only (<code>PARLEY_CHANNEL_LOG=failures</code>): calls and webhooks that succeeded are not kept.
        </p>
      )}
      {!list.loading && !list.error && rows.length === 0 && (
        <Empty title={messageId ? 'Nothing logged for this message' : onlyFailures ? 'No failures logged' : 'Nothing logged yet'}>
          <p className="small">
            {messageId
              ? onlyFailures
                ? 'Only failed calls are recorded on this server, and this message had none.'
                : 'Messages on channels without a provider (web chat) call nothing; entries older than the retention period are deleted.'
              : onlyFailures
                ? 'Failed calls to the provider and refused webhooks appear here, with credentials redacted.'
                : 'Calls to the provider and webhooks appear here, with credentials redacted.'}
          </p>
        </Empty>
      )}
      {rows.map((e) => (
        <LogEntry key={e.id} e={e} open={!!messageId && rows.length === 1} />
      ))}
      <Pager pager={pager} nextCursor={list.data?.next_cursor} />
    </div>
  );
}

/** A channel's dead letters, with a Replay button for editors. */
export function DeadLetters({ channelId, canReplay }: { channelId: string; canReplay: boolean }) {
  const toast = useToast();
  const pager = usePager();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState('');
  const list = useLoad((signal) => api.get('/channels/{channel_id}/dead-letters/', { path: { channel_id: channelId }, query: { cursor: pager.cursor || undefined, limit: 20 }, signal }), [channelId, pager.cursor]);
  const rows = list.data?.results ?? [];
  const replay = async (d: DeadLetter) => {
    setBusy(d.id);
    setError(null);
    try {
      const r = await api.post('/channels/{channel_id}/dead-letters/{dead_letter_id}/replay', { path: { channel_id: channelId, dead_letter_id: d.id } });
      toast(r.replay_outcome === 'ok' ? 'Replayed: the webhook was processed' : `Replay failed: ${r.replay_outcome}`);
      list.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy('');
    }
  };
  return (
    <div aria-label="Dead letters">
      <ErrorBanner error={error ?? list.error} onDismiss={() => setError(null)} />
      {!list.loading && !list.error && rows.length === 0 && (
        <Empty title="No dead letters">
          <p className="small">Webhooks that are genuine but cannot be processed are kept here to be replayed once the cause is fixed.</p>
        </Empty>
      )}
      {rows.map((d) => (
        <details key={d.id} className="log-entry log-failed" aria-label={`Dead letter ${d.id}`}>
          <summary>
            <span className="muted small">{new Date(d.received_at).toLocaleString()}</span> <span className="error-text">{d.reason}</span>{' '}
            {d.replayed_at && (
              <Badge kind={d.replay_outcome === 'ok' ? 'ok' : 'error'}>{d.replay_outcome === 'ok' ? 'replayed' : 'replay failed'}</Badge>
            )}
            {canReplay && (
              <button type="button" className="small-btn" disabled={busy === d.id} onClick={() => void replay(d)}>
                {busy === d.id ? 'Replaying…' : 'Replay'}
              </button>
            )}
          </summary>
          <div className="log-detail">
            {d.replayed_at && (
              <p className="small">
                Last replayed {new Date(d.replayed_at).toLocaleString()}: {d.replay_outcome}
              </p>
            )}
            <Headers h={d.headers} />
            <Body text={d.body} />
          </div>
        </details>
      ))}
      <Pager pager={pager} nextCursor={list.data?.next_cursor} />
    </div>
  );
}
