import { useEffect, useRef, useState } from 'react';
import { canEdit, useMe } from '../lib/auth';
import { Badge, ErrorBanner, timeAgo, useLoad } from '../components/ui';
import { COLORS, ProgressBar } from './Charts';
import { duration } from './chartmath';
import { campaignsApi, itemsOf, type Campaign, type Execution } from './types';

/**
 * useLiveExecution follows an execution through its server-sent events
 * (GET …/events): each event is the execution with fresh counts; the
 * stream ends with the execution. While the stream is down (a proxy that
 * buffers, a restart) it polls the execution instead.
 */
export function useLiveExecution(campaignId: string, initial: Execution) {
  const [ex, setEx] = useState(initial);
  const [live, setLive] = useState(false);
  useEffect(() => {
    setEx(initial);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [initial.id]);
  useEffect(() => {
    let closed = false;
    let poll: ReturnType<typeof setInterval> | undefined;
    const es = new EventSource(campaignsApi.eventsUrl(campaignId, initial.id), { withCredentials: true });
    es.addEventListener('progress', (e) => {
      setLive(true);
      if (poll) {
        clearInterval(poll);
        poll = undefined;
      }
      try {
        setEx(JSON.parse((e as MessageEvent).data) as Execution);
      } catch {
        /* a malformed event is skipped; the next one carries the whole state */
      }
    });
    es.addEventListener('end', () => {
      es.close();
      setLive(false);
    });
    es.onerror = () => {
      setLive(false);
      if (closed || poll) return;
      poll = setInterval(() => {
        void campaignsApi.execution(campaignId, initial.id).then(setEx, () => {});
      }, 2000);
    };
    return () => {
      closed = true;
      es.close();
      if (poll) clearInterval(poll);
    };
  }, [campaignId, initial.id]);
  return { ex, live, setEx };
}

/** The latest execution's live progress bar with counts, rate and ETA, and pause/resume/stop. */
export function ProgressTab({ campaign, onChanged, onReport }: { campaign: Campaign; onChanged: () => void; onReport: () => void }) {
  const list = useLoad((signal) => campaignsApi.executions(campaign.id, signal), [campaign.id]);
  const executions = itemsOf(list.data);
  const [pick, setPick] = useState('');
  const current = executions.find((e) => e.id === pick) ?? executions[0];
  return (
    <div>
      <ErrorBanner error={list.error} />
      {!list.loading && !current && <p className="muted">No execution yet: start the campaign from “Checklist & start”.</p>}
      {executions.length > 1 && (
        <div className="toolbar">
          <select aria-label="Execution" value={current?.id} onChange={(e) => setPick(e.target.value)}>
            {executions.map((e, i) => (
              <option key={e.id} value={e.id}>
                Execution {executions.length - i} · {e.status} · {timeAgo(e.created_at)}
              </option>
            ))}
          </select>
        </div>
      )}
      {current && <ExecutionProgress key={current.id} campaignId={campaign.id} execution={current} onChanged={() => { onChanged(); list.reload(); }} onReport={onReport} />}
    </div>
  );
}

const nf = (n: number | undefined) => (n ?? 0).toLocaleString();

function ExecutionProgress({ campaignId, execution, onChanged, onReport }: { campaignId: string; execution: Execution; onChanged: () => void; onReport: () => void }) {
  const me = useMe();
  const editor = canEdit(me);
  const { ex, live, setEx } = useLiveExecution(campaignId, execution);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // The status last seen, to tell a change on the server from ours.
  const seen = useRef(ex.status);
  const c = ex.counts ?? ({} as Execution['counts']);
  const act = async (a: 'pause' | 'resume' | 'stop') => {
    setBusy(true);
    setError(null);
    try {
      const next = await campaignsApi.act(campaignId, ex.id, a);
      seen.current = next.status; // read again below, once
      setEx(next);
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const total = ex.total || 0;
  const processed = (c.started ?? 0) + (c.start_failed ?? 0);
  const pct = total ? Math.floor((processed / total) * 100) : 0;
  const finished = ex.status === 'completed' || ex.status === 'stopped';
  // The campaign's status follows its execution: read it again when this
  // one's status changes on the server (it ends, or pauses by itself on
  // Meta's notice or the failure rate).
  useEffect(() => {
    if (seen.current === ex.status) return;
    seen.current = ex.status;
    onChanged();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ex.status]);
  const reasons = Object.entries(c.failed_by_reason ?? {}).sort((a, b) => b[1] - a[1]);
  return (
    <section className="card execution" aria-label="Execution progress">
      <div className="row gap">
        <h3 className="grow">
          Execution <Badge kind={`x-${ex.status}`}>{ex.status}</Badge> {live && <span className="live-dot" title="Live: updates as they happen">● live</span>}
        </h3>
        {editor && ex.status === 'running' && (
          <button type="button" disabled={busy} onClick={() => void act('pause')}>
            Pause
          </button>
        )}
        {editor && ex.status === 'paused' && (
          <button type="button" className="primary" disabled={busy} onClick={() => void act('resume')}>
            Resume
          </button>
        )}
        {editor && !finished && (
          <button type="button" className="danger" disabled={busy} onClick={() => void act('stop')}>
            Stop
          </button>
        )}
        {finished && (
          <button type="button" className="primary" onClick={onReport}>
            See the report
          </button>
        )}
      </div>
      {ex.status_reason && <p className={ex.status === 'paused' || ex.status === 'stopped' ? 'warn-text' : 'muted'}>{ex.status_reason}</p>}
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      <div className="progress-head">
        <strong aria-label="Percent processed">{pct}%</strong>
        <span>
          {nf(processed)} of {nf(total)} rows started
        </span>
        <span className="spacer" />
        <span aria-label="Rate">{(c.rate ?? 0).toFixed(1)} starts/s</span>
        <span aria-label="Time left">ETA {finished ? '—' : ex.status === 'paused' ? 'paused' : c.eta_seconds ? duration(c.eta_seconds) : '—'}</span>
      </div>
      <ProgressBar
        label="Rows processed"
        total={total}
        segments={[
          { key: 'completed', value: c.completed ?? 0, color: COLORS.completed, label: 'Completed the flow' },
          { key: 'started', value: Math.max(0, (c.started ?? 0) - (c.completed ?? 0)), color: COLORS.started, label: 'Started' },
          { key: 'start_failed', value: c.start_failed ?? 0, color: COLORS.failed, label: 'Could not start' },
        ]}
      />
      <div className="stat-row" aria-label="Counts">
        {(
          [
            ['Queued', c.queued, 'queued'],
            ['Waiting for window', c.waiting_for_window, 'waiting'],
            ['Started', c.started, 'started'],
            ['Sent', c.sent, 'sent'],
            ['Delivered', c.delivered, 'delivered'],
            ['Read', c.read, 'read'],
            ['Replied', c.replied, 'replied'],
            ['Completed the flow', c.completed, 'completed'],
            ['Failed', (c.failed ?? 0) + (c.start_failed ?? 0), 'failed'],
          ] as const
        ).map(([label, v, key]) => (
          <div key={label} className="stat" style={{ borderTopColor: COLORS[key] }}>
            <strong>{nf(v)}</strong>
            <span>{label}</span>
          </div>
        ))}
      </div>
      {reasons.length > 0 && (
        <div className="small">
          <h4>Failed by reason</h4>
          <ul>
            {reasons.map(([code, n]) => (
              <li key={code}>
                <code>{code}</code> × {nf(n)}
              </li>
            ))}
          </ul>
        </div>
      )}
      <p className="muted small">
        Batches of {ex.settings?.batch_size} every {ex.settings?.batch_delay_seconds} s
        {ex.settings?.send_window?.start ? `, between ${ex.settings.send_window.start} and ${ex.settings.send_window.end} local time` : ''}; pauses by itself above{' '}
        {Math.round((ex.settings?.max_failure_rate ?? 0) * 100)}% failures. Started {timeAgo(ex.created_at)}.
      </p>
    </section>
  );
}
