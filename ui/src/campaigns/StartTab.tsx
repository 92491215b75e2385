import { useState } from 'react';
import { canEdit, useMe } from '../lib/auth';
import { Link } from '../lib/router';
import { ErrorBanner, useLoad } from '../components/ui';
import { campaignsApi, type Campaign, type ExecutionSettings } from './types';

// ISO weekdays: 1 is Monday, 7 Sunday.
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** The pre-flight checklist (each failed item with its fix link) and the execution settings, then Start. */
// Which tab of the campaign page fixes a checklist item whose fix is on the
// campaign or one of its datasets.
const TAB_OF: Record<string, 'setup' | 'contacts'> = {
  flow_selected: 'setup',
  channels: 'setup',
  dates: 'setup',
  dataset_ready: 'contacts',
  dataset_valid_rows: 'contacts',
  variables: 'contacts',
};

export function StartTab({ campaign, onStarted, onTab }: { campaign: Campaign; onStarted: () => void; onTab: (t: 'setup' | 'contacts') => void }) {
  const me = useMe();
  const editor = canEdit(me);
  const [datasetId, setDatasetId] = useState(campaign.dataset_ids?.[0] ?? '');
  const check = useLoad((signal) => campaignsApi.checklist(campaign.id, datasetId, signal), [campaign.id, datasetId, campaign.version]);
  const [batchSize, setBatchSize] = useState(100);
  const [delay, setDelay] = useState(1);
  const [windowOn, setWindowOn] = useState(false);
  const [wStart, setWStart] = useState('09:00');
  const [wEnd, setWEnd] = useState('20:00');
  const [days, setDays] = useState<number[]>([1, 2, 3, 4, 5]);
  const [maxFail, setMaxFail] = useState(50);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const items = check.data?.items ?? [];
  const start = async () => {
    setBusy(true);
    setError(null);
    const body: ExecutionSettings = {
      dataset_id: datasetId || check.data?.dataset_id || '',
      batch_size: batchSize,
      batch_delay_seconds: delay,
      max_failure_rate: maxFail / 100,
      send_window: windowOn ? { start: wStart, end: wEnd, days } : undefined,
    };
    try {
      await campaignsApi.start(campaign.id, body);
      onStarted();
    } catch (e) {
      setError(e);
      check.reload();
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="start-tab">
      <section className="card">
        <div className="row gap">
          <h3 className="grow">Pre-flight checklist</h3>
          {(campaign.dataset_ids ?? []).length > 1 && (
            <select aria-label="Dataset to run" value={datasetId} onChange={(e) => setDatasetId(e.target.value)}>
              {(campaign.dataset_ids ?? []).map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          )}
          <button type="button" onClick={check.reload}>
            Check again
          </button>
        </div>
        <ErrorBanner error={check.error} />
        <ul className="checklist" aria-label="Checklist">
          {items.map((it) => (
            <li key={it.id} className={it.ok ? 'ok' : 'bad'}>
              <span className="check-mark" aria-hidden>
                {it.ok ? '✓' : '✗'}
              </span>
              <div>
                <div>{it.message}</div>
                {!it.ok && (it.fix || it.fix_link) && (
                  <div className="small">
                    {it.fix}{' '}
                    {it.fix_link &&
                      (/^\/app\/(campaigns|datasets)\//.test(it.fix_link) ? (
                        <button type="button" className="link" onClick={() => onTab(TAB_OF[it.id] ?? (it.fix_link!.includes('/datasets/') ? 'contacts' : 'setup'))}>
                          Fix it
                        </button>
                      ) : (
                        <Link to={it.fix_link.replace(/^\/app/, '')}>Fix it</Link>
                      ))}
                  </div>
                )}
              </div>
            </li>
          ))}
        </ul>
        {check.data && (
          <p className={check.data.ready ? 'ok-text' : 'warn-text'}>{check.data.ready ? 'Everything is ready.' : 'Fix the items marked ✗ to start.'}</p>
        )}
      </section>
      <section className="card">
        <h3>Execution settings</h3>
        <div className="row gap">
          <div className="field">
            <label htmlFor="ex-batch">Batch size (rows)</label>
            <input id="ex-batch" type="number" min={1} max={10000} value={batchSize} onChange={(e) => setBatchSize(Number(e.target.value))} />
          </div>
          <div className="field">
            <label htmlFor="ex-delay">Delay between batches (s)</label>
            <input id="ex-delay" type="number" min={0} max={3600} value={delay} onChange={(e) => setDelay(Number(e.target.value))} />
          </div>
          <div className="field">
            <label htmlFor="ex-fail">Pause when failures pass (%)</label>
            <input id="ex-fail" type="number" min={0} max={100} value={maxFail} onChange={(e) => setMaxFail(Number(e.target.value))} />
          </div>
        </div>
        <label className="field checkbox">
          <input type="checkbox" checked={windowOn} onChange={(e) => setWindowOn(e.target.checked)} /> Only send inside a window (each contact’s local time)
        </label>
        {windowOn && (
          <div className="row gap">
            <div className="field">
              <label htmlFor="ex-wstart">From</label>
              <input id="ex-wstart" type="time" value={wStart} onChange={(e) => setWStart(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="ex-wend">To</label>
              <input id="ex-wend" type="time" value={wEnd} onChange={(e) => setWEnd(e.target.value)} />
            </div>
            <fieldset className="days">
              <legend className="small">Days</legend>
              {DAYS.map((d, i) => (
                <label key={d} className="small">
                  <input type="checkbox" checked={days.includes(i + 1)} onChange={(e) => setDays((ds) => (e.target.checked ? [...ds, i + 1].sort() : ds.filter((x) => x !== i + 1)))} /> {d}
                </label>
              ))}
            </fieldset>
          </div>
        )}
        <p className="hint">Pacing never exceeds a number’s messages per second or its Meta tier; replies from contacts go ahead of campaign sends.</p>
        <ErrorBanner error={error} onDismiss={() => setError(null)} />
        {editor && (
          <button type="button" className="primary" disabled={busy || !check.data?.ready} onClick={() => void start()}>
            Start campaign
          </button>
        )}
      </section>
    </div>
  );
}
