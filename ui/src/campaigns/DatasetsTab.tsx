import { useEffect, useState, type FormEvent } from 'react';
import { canEdit, useMe } from '../lib/auth';
import { Badge, ErrorBanner, useLoad, useToast } from '../components/ui';
import { campaignBody, campaignsApi, datasetsApi, itemsOf, type Campaign, type Dataset, type DatasetRow, type Mapping } from './types';

const STATUSES = ['valid', 'invalid_phone', 'duplicate', 'wrong_columns', 'opted_out'] as const;
const LABEL: Record<string, string> = {
  valid: 'Valid',
  invalid_phone: 'Invalid phone',
  duplicate: 'Duplicate',
  wrong_columns: 'Wrong column count',
  opted_out: 'Opted out',
};

/** Waits for a dataset to leave "processing", polling it. */
function useDataset(id: string) {
  const [ds, setDs] = useState<Dataset | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!id) return;
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout>;
    const load = async () => {
      try {
        const d = await datasetsApi.get(id, ac.signal);
        setDs(d);
        if (d.status === 'processing') timer = setTimeout(() => void load(), 700);
      } catch (e) {
        if (!ac.signal.aborted) setError(e);
      }
    };
    void load();
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, [id, tick]);
  return { ds, error, reload: () => setTick((t) => t + 1), setDs };
}

/** The campaign's contacts: upload a CSV, map its columns, see the rows' problems, and use it in the campaign. */
export function DatasetsTab({ campaign, onChanged }: { campaign: Campaign; onChanged: (c: Campaign) => void }) {
  const me = useMe();
  const editor = canEdit(me);
  const [open, setOpen] = useState(campaign.dataset_ids?.[0] ?? '');
  const [uploading, setUploading] = useState(campaign.dataset_ids?.length ? false : true);
  const all = useLoad((signal) => datasetsApi.list(signal), []);
  const names = new Map(itemsOf(all.data).map((d) => [d.id, d]));
  return (
    <div>
      <ErrorBanner error={all.error} />
      <div className="row gap">
        <h3 className="grow">Datasets of this campaign</h3>
        {editor && (
          <button type="button" onClick={() => setUploading(true)}>
            Upload a CSV
          </button>
        )}
      </div>
      {(campaign.dataset_ids ?? []).length === 0 ? (
        <p className="muted">No dataset yet: upload a CSV file with one contact per line.</p>
      ) : (
        <ul className="dataset-list">
          {(campaign.dataset_ids ?? []).map((id) => (
            <li key={id}>
              <button type="button" className="link" onClick={() => { setOpen(id); setUploading(false); }}>
                {names.get(id)?.name ?? id}
              </button>{' '}
              {names.get(id) && <Badge kind={names.get(id)!.status}>{names.get(id)!.status}</Badge>}{' '}
              <span className="muted small">{names.get(id)?.counts ? `${names.get(id)!.counts.valid} valid of ${names.get(id)!.counts.total}` : ''}</span>
            </li>
          ))}
        </ul>
      )}
      {uploading && editor && (
        <UploadForm
          onUploaded={(d) => {
            setUploading(false);
            setOpen(d.id);
            all.reload();
          }}
        />
      )}
      {open && !uploading && <DatasetView key={open} id={open} campaign={campaign} onChanged={(c) => { onChanged(c); all.reload(); }} />}
    </div>
  );
}

function UploadForm({ onUploaded }: { onUploaded: (d: Dataset) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [country, setCountry] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      onUploaded(await datasetsApi.upload(file, name || file.name.replace(/\.[^.]+$/, ''), country.trim().toUpperCase()));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-label="Upload a dataset">
      <h3>Upload contacts</h3>
      <ErrorBanner error={error} />
      <div className="field">
        <label htmlFor="ds-file">CSV file</label>
        <input id="ds-file" type="file" accept=".csv,text/csv,text/plain" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        <p className="hint">Comma, semicolon, tab or pipe separated; UTF-8 or Windows-1252; a header row. One row per contact, with a phone column.</p>
      </div>
      <div className="row gap">
        <div className="field grow">
          <label htmlFor="ds-name">Name</label>
          <input id="ds-name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Defaults to the file name" />
        </div>
        <div className="field">
          <label htmlFor="ds-country">Default country (for local numbers)</label>
          <input id="ds-country" value={country} onChange={(e) => setCountry(e.target.value)} placeholder="e.g. PT, BR, US" maxLength={2} size={6} />
        </div>
      </div>
      <button type="submit" className="primary" disabled={!file || busy}>
        {busy ? 'Uploading…' : 'Upload'}
      </button>
    </form>
  );
}

function DatasetView({ id, campaign, onChanged }: { id: string; campaign: Campaign; onChanged: (c: Campaign) => void }) {
  const me = useMe();
  const editor = canEdit(me);
  const toast = useToast();
  const { ds, error, setDs } = useDataset(id);
  const [mapping, setMapping] = useState<Mapping | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [useErr, setUseErr] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (ds && ds.status !== 'processing' && !mapping) setMapping(ds.mapping);
  }, [ds, mapping]);
  if (error) return <ErrorBanner error={error} />;
  if (!ds) return <div className="loading">Loading the dataset…</div>;
  const used = (campaign.dataset_ids ?? []).includes(ds.id);
  const apply = async () => {
    if (!mapping) return;
    setBusy(true);
    setErr(null);
    try {
      setDs(await datasetsApi.setMapping(ds.id, mapping));
      setMapping(null);
      // useDataset polls again from the processing state
      setTimeout(() => void datasetsApi.get(ds.id).then(setDs), 500);
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  const use = async () => {
    setBusy(true);
    try {
      const c = await campaignsApi.update(campaign.id, campaignBody(campaign, { dataset_ids: [...(campaign.dataset_ids ?? []), ds.id] }));
      onChanged(c);
      toast(`“${ds.name}” is used by the campaign`);
    } catch (e) {
      setUseErr(e);
    } finally {
      setBusy(false);
    }
  };
  const col = (key: keyof Mapping, label: string, required = false) => (
    <div className="field">
      <label htmlFor={`map-${key}`}>{label}</label>
      <select id={`map-${key}`} value={(mapping?.[key] as string) ?? ''} disabled={!editor} onChange={(e) => setMapping((m) => (m ? { ...m, [key]: e.target.value } : m))}>
        {!required && <option value="">— none —</option>}
        {required && !mapping?.[key] && <option value="">— choose —</option>}
        {(ds.columns ?? []).map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    </div>
  );
  const changed = mapping && JSON.stringify(mapping) !== JSON.stringify(ds.mapping);
  return (
    <section className="card dataset-view" aria-label={`Dataset ${ds.name}`}>
      <div className="row gap">
        <h3 className="grow">
          {ds.name} <Badge kind={ds.status}>{ds.status}</Badge>
        </h3>
        <span className="muted small">
          {ds.filename} · {ds.encoding} · delimiter “{ds.delimiter === '\t' ? 'tab' : ds.delimiter}”
        </span>
      </div>
      <ErrorBanner error={err} onDismiss={() => setErr(null)} />
      {ds.status === 'failed' && <div className="error-banner">{ds.error}</div>}
      {ds.warnings?.map((w) => (
        <p key={w} className="warn-text small">
          ⚠ {w}
        </p>
      ))}
      {ds.status === 'processing' ? (
        <p className="muted">Reading and checking the rows…</p>
      ) : (
        <>
          <h4>1. Map the columns</h4>
          <div className="mapping-grid">
            {col('phone_column', 'Phone column (required)', true)}
            <div className="field">
              <label htmlFor="map-country">Default country code</label>
              <input
                id="map-country"
                value={mapping?.default_country ?? ''}
                maxLength={2}
                disabled={!editor}
                placeholder="e.g. PT"
                onChange={(e) => setMapping((m) => (m ? { ...m, default_country: e.target.value.toUpperCase() } : m))}
              />
            </div>
            {col('name_column', 'Name column')}
            {col('email_column', 'E-mail column')}
            {col('identifier_column', 'Identifier column')}
            {col('timezone_column', 'Time zone column')}
          </div>
          <details>
            <summary className="small">Variables the flow can read ({Object.keys(ds.mapping?.variables ?? {}).length})</summary>
            <ul className="small mono">
              {Object.entries(ds.mapping?.variables ?? {}).map(([c, v]) => (
                <li key={c}>
                  {c} → {`{{${v}}}`}
                </li>
              ))}
            </ul>
          </details>
          {editor && (
            <button type="button" className={changed ? 'primary' : ''} disabled={!changed || busy} onClick={() => void apply()}>
              Apply mapping
            </button>
          )}
          <h4>2. Check the rows</h4>
          <div className="stat-row" aria-label="Row counts">
            {STATUSES.map((s) => (
              <div key={s} className={`stat ${s === 'valid' ? 'ok' : (ds.counts?.[s] ?? 0) > 0 ? 'bad' : ''}`}>
                <strong>{(ds.counts?.[s] ?? 0).toLocaleString()}</strong>
                <span>{LABEL[s]}</span>
              </div>
            ))}
            <div className="stat">
              <strong>{(ds.counts?.total ?? 0).toLocaleString()}</strong>
              <span>Rows in all</span>
            </div>
          </div>
          <RowsTable rows={ds.preview ?? []} caption="The first rows with their normalised phone" />
          <RowReport ds={ds} />
          <h4>3. Use it</h4>
          <ErrorBanner error={useErr} onDismiss={() => setUseErr(null)} />
          {used ? (
            <p className="muted">This campaign uses this dataset. Next: the “Checklist & start” tab.</p>
          ) : (
            editor && (
              <button type="button" className="primary" disabled={busy || ds.status !== 'ready'} onClick={() => void use()}>
                Use in this campaign
              </button>
            )
          )}
        </>
      )}
    </section>
  );
}

function RowsTable({ rows, caption }: { rows: DatasetRow[]; caption: string }) {
  const vars = [...new Set(rows.flatMap((r) => Object.keys(r.values ?? {})))].slice(0, 5);
  return (
    <div className="table-scroll">
      <table className="table small">
        <caption className="muted small">{caption}</caption>
        <thead>
          <tr>
            <th>Row</th>
            <th>Phone (E.164)</th>
            <th>Outcome</th>
            {vars.map((v) => (
              <th key={v}>{v}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.row} className={r.status === 'valid' ? '' : 'row-problem'}>
              <td>
                {r.row} <span className="muted">(line {r.line})</span>
              </td>
              <td className="mono">{r.phone || '—'}</td>
              <td>
                <Badge kind={r.status === 'valid' ? 'ok' : 'error'}>{LABEL[r.status] ?? r.status}</Badge>
                {r.reason && <div className="muted">{r.reason}</div>}
                {r.duplicate_of > 0 && !r.reason && <div className="muted">same phone as row {r.duplicate_of}</div>}
              </td>
              {vars.map((v) => (
                <td key={v}>{r.values?.[v]}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The row report: every row with one outcome, paginated, and the CSV of all. */
function RowReport({ ds }: { ds: Dataset }) {
  const [status, setStatus] = useState('invalid_phone');
  const [after, setAfter] = useState<string[]>(['']);
  const rows = useLoad((signal) => datasetsApi.rows(ds.id, status, after[after.length - 1], signal), [ds.id, status, after.join(',')]);
  const list = itemsOf(rows.data);
  const next = rows.data?.next ?? rows.data?.next_cursor;
  return (
    <details className="row-report">
      <summary>Row report: every row by outcome</summary>
      <div className="toolbar">
        <select aria-label="Rows with outcome" value={status} onChange={(e) => { setStatus(e.target.value); setAfter(['']); }}>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {LABEL[s]} ({ds.counts?.[s] ?? 0})
            </option>
          ))}
        </select>
        <a href={datasetsApi.reportCsvUrl(ds.id)} download>
          Download the report (CSV)
        </a>
      </div>
      <ErrorBanner error={rows.error} />
      {list.length === 0 && !rows.loading ? <p className="muted small">No row has this outcome.</p> : <RowsTable rows={list} caption={`${LABEL[status]} rows`} />}
      <nav className="pager">
        <button type="button" disabled={after.length === 1} onClick={() => setAfter((a) => a.slice(0, -1))}>
          ← Previous
        </button>
        <button type="button" disabled={!next} onClick={() => next && setAfter((a) => [...a, String(next)])}>
          Next →
        </button>
      </nav>
    </details>
  );
}
