// A voice call as its callee lives it (the simulator: the person testing a
// flow answers its voice_call), and a call's result as the conversation
// shows it.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, errorMessage, type Schemas } from '../api/client';

type LiveEvent = Schemas['LiveEvent'];
type LiveView = Schemas['LiveCallView'];

/** What a call's result (voice.Result) holds, as the API gives it. */
export interface CallResultData {
  status?: string;
  answered_by?: string;
  end_reason?: string;
  duration_ms?: number;
  transcript?: { speaker: string; text: string; at_ms?: number; interrupted?: boolean }[] | null;
  recording_url?: string;
  direction?: string;
  to?: string;
  transfer?: {
    target?: { kind?: string; to?: string; mode?: string };
    reason?: string;
    requested_by?: string;
    pending?: boolean;
    dial_status?: string;
  } | null;
  outcome?: string;
  summary?: string;
  error?: string;
}

const words = (s?: string) => (s ?? '').replace(/_/g, ' ');

/** The transfer target as a flow writes it: +E164 or agent:NAME. */
function targetText(t?: { kind?: string; to?: string }): string {
  if (!t?.to) return '';
  return t.kind === 'agent' ? `agent:${t.to}` : t.to;
}

/** TransferLine says what became of a call's transfer, in words. */
function TransferLine({ r }: { r: CallResultData }) {
  const t = r.transfer;
  if (!t) return null;
  const to = targetText(t.target);
  const why = t.reason ? ` — ${t.reason}` : '';
  const mode = t.target?.mode === 'warm' ? ' (warm)' : t.target?.mode === 'blind' ? ' (blind)' : '';
  let text: string;
  if (t.pending) text = `The AI asked to transfer; the call was held for the flow's transfer step${why}`;
  else if (r.end_reason === 'transferred') text = `Transferred to ${to}${mode}${why}`;
  else text = `Transfer to ${to}${mode} not taken${t.dial_status ? ` (${words(t.dial_status)})` : ''}${why}`;
  return (
    <div className="small call-transfer" aria-label="Transfer">
      <span aria-hidden="true">↪</span> {text}
    </div>
  );
}

/**
 * PhoneIcon is a call's icon, drawn inline: the phone emoji renders as a
 * box where no emoji font is installed.
 */
export function PhoneIcon({ ringing }: { ringing?: boolean }) {
  return (
    <svg className={`call-icon${ringing ? ' ringing' : ''}`} aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="14" height="14">
      <path
        fill="currentColor"
        d="M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z"
      />
    </svg>
  );
}

/**
 * callHeadline is a call result's first words. A call whose AI handed it
 * on (transferred, or held for the flow's transfer step) is over as far as
 * the agent goes, whatever status the provider had then: it says so, and
 * where the call went.
 */
export function callHeadline(r: CallResultData): string {
  if (r.direction === 'transfer') {
    const to = targetText(r.transfer?.target) || r.to || '';
    return r.status === 'completed' ? `Transfer done${to ? ` · transferred to ${to}` : ''}` : 'Transfer failed';
  }
  if (r.transfer && r.end_reason === 'transferred') {
    if (r.transfer.pending) return "Call ended · held for the flow's transfer";
    const to = targetText(r.transfer.target);
    return `Call ended · transferred${to ? ` to ${to}` : ''}`;
  }
  return `Call ${words(r.status)}`;
}

/** The voice_call exit a result takes (as voice.Result.Exit). */
export function callExit(r: CallResultData): string {
  if (r.transfer && r.end_reason === 'transferred') return 'transferred';
  if (r.status === 'completed' && r.answered_by === 'machine') return 'no_answer';
  if (r.status === 'completed' && r.end_reason !== 'interrupted' && r.end_reason !== 'error') return 'completed';
  if (r.status === 'busy' || r.status === 'no_answer' || r.status === 'canceled') return 'no_answer';
  return 'failed';
}

export function duration(ms?: number): string {
  const s = Math.round((ms ?? 0) / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/**
 * recordingSrc is where the page plays a recording Parley keeps
 * (/projects/{id}/calls/{id}/recording): the path on this server, so the
 * browser sends the session cookie whatever public URL the result names;
 * '' for a provider's own URL.
 */
export function recordingSrc(u: string): string {
  const m = /\/projects\/[^/]+\/calls\/[^/]+\/recording$/.exec(u);
  return m ? m[0] : '';
}

/** CallResult shows a call's result: status, duration, outcome and summary, the transcript (collapsible) and the recording. */
export function CallResult({ r, open }: { r: CallResultData; open?: boolean }) {
  const lines = r.transcript ?? [];
  // The AI handed the call on: the headline says where; "transferred" is not repeated.
  const handedOn = r.end_reason === 'transferred';
  return (
    <div className="call-result" aria-label="Call result">
      <div className="call-head">
        <PhoneIcon /> <strong>{callHeadline(r)}</strong>
        {(r.status === 'completed' || handedOn) && r.direction !== 'transfer' && <span className="muted small"> · {duration(r.duration_ms)}</span>}
        {r.end_reason && !handedOn && <span className="muted small"> · {words(r.end_reason)}</span>}
        <span className="muted small"> · exit {r.direction === 'transfer' ? (callExit(r) === 'transferred' ? 'completed' : 'failed') : callExit(r)}</span>
      </div>
      {r.outcome && (
        <div className="small">
          Outcome: <span className="badge">{r.outcome}</span>
        </div>
      )}
      {r.summary && <div className="small">{r.summary}</div>}
      <TransferLine r={r} />
      {r.error && <div className="small error-text">{r.error}</div>}
      {lines.length > 0 && (
        <details open={open}>
          <summary className="small">Transcript ({lines.length} lines)</summary>
          <ol className="call-transcript small">
            {lines.map((l, i) => (
              <li key={i} className={l.speaker === 'agent' ? 'agent' : 'callee'}>
                <strong>{l.speaker === 'agent' ? 'Agent' : 'Callee'}:</strong> {l.text}
                {l.interrupted && <span className="muted"> (interrupted)</span>}
              </li>
            ))}
          </ol>
        </details>
      )}
      {r.recording_url && (
        <div className="small call-recording">
          Recording:{' '}
          {recordingSrc(r.recording_url) ? (
            <>
              <audio controls preload="metadata" src={recordingSrc(r.recording_url)} aria-label="Call recording" />{' '}
              <a href={recordingSrc(r.recording_url)} download>
                download
              </a>
            </>
          ) : /^https?:/.test(r.recording_url) ? (
            <a href={r.recording_url} target="_blank" rel="noreferrer">
              listen
            </a>
          ) : (
            <code>{r.recording_url}</code>
          )}
        </div>
      )}
    </div>
  );
}

const call = {
  get: (id: string, after: number, wait: number, signal: AbortSignal) =>
    api.get('/simulator/sessions/{session_id}/call/', { path: { session_id: id }, query: { after, wait_ms: wait }, signal }),
  say: (id: string, text: string) => api.post('/simulator/sessions/{session_id}/call/lines/', { path: { session_id: id }, body: { text } }),
  hangup: (id: string) => api.post('/simulator/sessions/{session_id}/call/hangup/', { path: { session_id: id } }),
};

/**
 * LiveCallCard lets the person testing a flow be the callee of its
 * voice_call: the phone rings, they read the agent's lines and type
 * theirs, may hang up, and see the result; onEnded fires once the call's
 * result is recorded (the session goes on).
 */
export function LiveCallCard({ sessionId, onEnded }: { sessionId: string; onEnded: () => void }) {
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [view, setView] = useState<LiveView | null>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const ended = useRef(false);
  const input = useRef<HTMLInputElement>(null);
  const log = useRef<HTMLOListElement>(null);

  useEffect(() => {
    // Long polling, one request at a time, stopped when the card goes.
    const ctl = new AbortController();
    let after = 0;
    let stop = false;
    (async () => {
      while (!stop) {
        try {
          const v = await call.get(sessionId, after, 10000, ctl.signal);
          if (stop) return;
          after = v.cursor;
          const evs = v.events ?? [];
          if (evs.length) setEvents((old) => [...old, ...evs]);
          setView(v);
          setError('');
          if (v.result) {
            if (!ended.current) {
              ended.current = true;
              onEnded();
            }
            return;
          }
          if (v.ended) await new Promise((r) => setTimeout(r, 300));
        } catch (e) {
          if (stop || ctl.signal.aborted) return;
          setError(errorMessage(e));
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
    return () => {
      stop = true;
      ctl.abort();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [sessionId]);
  useEffect(() => {
    log.current?.lastElementChild?.scrollIntoView({ block: 'nearest' });
  }, [events]);

  const answered = events.some((e) => e.kind === 'answered');
  const over = !!view?.ended || events.some((e) => e.kind === 'ended');
  const state = view?.result ? 'ended' : over ? 'ending' : answered ? 'in call' : 'ringing';
  const say = async (e: FormEvent) => {
    e.preventDefault();
    const t = text.trim();
    if (!t) return;
    setText('');
    try {
      await call.say(sessionId, t);
    } catch (err) {
      setError(errorMessage(err));
    }
    input.current?.focus();
  };
  const hangup = async () => {
    try {
      await call.hangup(sessionId);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const result = view?.result as CallResultData | undefined;
  return (
    <div className={`call-card ${state.replace(' ', '-')}`} role="region" aria-label="Phone call">
      <div className="call-head">
        <PhoneIcon ringing={state === 'ringing'} />{' '}
        <strong role="status">{state === 'ringing' ? 'Incoming call… you are the callee' : state === 'in call' ? 'In call' : state === 'ending' ? 'Call ended — waiting for the result…' : 'Call ended'}</strong>
      </div>
      <ol className="call-transcript small" ref={log} aria-label="Call transcript">
        {events
          .filter((e) => e.kind === 'agent' || e.kind === 'callee' || e.kind === 'transfer')
          .map((e) =>
            e.kind === 'transfer' ? (
              <li key={e.seq} className="transfer">
                <em>↪ {e.text}</em>
              </li>
            ) : (
              <li key={e.seq} className={e.kind}>
                <strong>{e.kind === 'agent' ? 'Agent' : 'You'}:</strong> {e.text}
              </li>
            ),
          )}
      </ol>
      {error && (
        <div className="error-text small" role="alert">
          {error}
        </div>
      )}
      {!over && (
        <form className="sim-input" onSubmit={(e) => void say(e)}>
          <input ref={input} aria-label="Say as the callee" placeholder={answered ? 'Say something…' : 'Ringing…'} maxLength={2000} value={text} onChange={(e) => setText(e.target.value)} disabled={!answered} />
          <button type="submit" disabled={!answered || !text.trim()}>
            Say
          </button>
          <button type="button" className="danger" onClick={() => void hangup()} disabled={!answered}>
            Hang up
          </button>
        </form>
      )}
      {result && <CallResult r={result} />}
    </div>
  );
}
