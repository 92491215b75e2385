// The project's own database: its state, tables, rows (filter, sort,
// paging, edit), CSV import with progress and export, and the SQL console.
import { useState, type FormEvent } from 'react';
import { api, ApiError, csrfHeader, rawRequest, type Schemas } from '../api/client';
import { canEdit, useMe } from '../lib/auth';
import { useTitle } from '../lib/router';
import { Badge, Dialog, Empty, ErrorBanner, useLoad, useToast } from '../components/ui';

type Table = Schemas['Table'];
type Column = Schemas['Column'];
type RowsPage = Schemas['RowsPage'];
type SQLResult = Schemas['SQLResult'];
type ImportResult = Schemas['ImportResult'];
type Row = Record<string, unknown>;

const TYPES = ['text', 'number', 'boolean', 'datetime', 'json'] as const;
const OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'contains', 'null', 'not_null'] as const;
const PAGE = 25;
const enc = encodeURIComponent;

export default function Data() {
  useTitle('Data');
  const me = useMe();
  const toast = useToast();
  const status = useLoad((signal) => api.get('/data/', { signal }), []);
  const tables = useLoad((signal) => api.get('/data/tables/', { signal }), []);
  const [open, setOpen] = useState<string>('');
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const list = tables.data?.results ?? [];
  const current = list.find((t) => t.name === open) ?? list[0];
  const st = status.data;
  const retry = async () => {
    try {
      await api.post('/data/provision');
      toast('The database was created');
    } catch (e) {
      setError(e);
    }
    status.reload();
    tables.reload();
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>Data</h1>
        {st && (
          <span data-testid="db-status">
            <Badge kind={st.status === 'ready' ? 'ok' : st.status === 'failed' ? 'error' : 'warn'}>
              {st.status === 'none' ? 'not created yet' : st.status}
            </Badge>
          </span>
        )}
        <div className="spacer" />
        {canEdit(me) && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New table
          </button>
        )}
      </div>
      <p className="muted">
        The project's own database ({st?.dialect === 'postgres' ? `schema ${st.location ?? ''}` : 'a file of its own'}): flows read and write it with
        the Data step, code steps with <code>db.query</code> and <code>db.insert</code>. No other project, and nothing of Parley's, is reachable from here.
      </p>
      {st?.status === 'failed' && (
        <div className="error-banner" role="alert">
          <div>
            <strong>The database could not be created:</strong> {st.reason}
          </div>
          {me.role === 'owner' && (
            <button type="button" onClick={() => void retry()}>
              Retry
            </button>
          )}
        </div>
      )}
      {st?.status === 'none' && me.role === 'owner' && (
        <p>
          <button type="button" onClick={() => void retry()}>
            Create the database now
          </button>{' '}
          <span className="muted small">(it is also created on first use)</span>
        </p>
      )}
      <ErrorBanner error={error ?? tables.error ?? status.error} onDismiss={() => setError(null)} />
      <div className="data-layout">
        <nav className="data-tables" aria-label="Tables">
          <h2>Tables</h2>
          {list.length === 0 && !tables.loading && <p className="muted small">No table yet.</p>}
          {list.map((t) => (
            <button key={t.name} type="button" aria-current={current?.name === t.name ? 'true' : undefined} onClick={() => setOpen(t.name)}>
              {t.name} <span className="muted small">{t.rows}</span>
            </button>
          ))}
        </nav>
        <section className="data-main">
          {current ? (
            <TableView key={current.name} table={current} onChanged={() => tables.reload()} />
          ) : (
            <Empty title="No table yet">
              <p>Create a table with typed columns, then import a CSV into it or let a flow write to it.</p>
            </Empty>
          )}
        </section>
      </div>
      {me.role === 'owner' && <Console onRan={() => tables.reload()} />}
      {creating && (
        <CreateTable
          onClose={() => setCreating(false)}
          onCreated={(t) => {
            setCreating(false);
            setOpen(t.name);
            tables.reload();
            status.reload();
          }}
        />
      )}
    </div>
  );
}

function CreateTable({ onClose, onCreated }: { onClose: () => void; onCreated: (t: Table) => void }) {
  const [name, setName] = useState('');
  const [cols, setCols] = useState<Column[]>([{ name: '', type: 'text' }]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (i: number, c: Partial<Column>) => setCols(cols.map((x, j) => (j === i ? { ...x, ...c } : x)));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      onCreated(await api.post('/data/tables/', { body: { name, columns: cols } }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      title="New table"
      wide
      onClose={onClose}
      footer={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form="new-table" className="primary" disabled={busy}>
            Create table
          </button>
        </>
      }
    >
      <form id="new-table" onSubmit={(e) => void submit(e)}>
        <ErrorBanner error={error} />
        <label>
          Table name
          <input aria-label="Table name" required maxLength={63} value={name} placeholder="customers" onChange={(e) => setName(e.target.value.toLowerCase())} />
        </label>
        <p className="muted small">Lower-case letters, digits and _. Without a primary key, a number column id is added as the key.</p>
        <table className="table">
          <thead>
            <tr>
              <th>Column</th>
              <th>Type</th>
              <th>Primary key</th>
              <th>Unique</th>
              <th>Index</th>
              <th>Required</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {cols.map((c, i) => (
              <tr key={i}>
                <td>
                  <input aria-label={`Column ${i + 1} name`} required maxLength={63} value={c.name} onChange={(e) => set(i, { name: e.target.value.toLowerCase() })} />
                </td>
                <td>
                  <select aria-label={`Column ${i + 1} type`} value={c.type} onChange={(e) => set(i, { type: e.target.value as Column['type'] })}>
                    {TYPES.map((t) => (
                      <option key={t}>{t}</option>
                    ))}
                  </select>
                </td>
                {(['primary_key', 'unique', 'index', 'required'] as const).map((k) => (
                  <td key={k}>
                    <input type="checkbox" aria-label={`Column ${i + 1} ${k.replace('_', ' ')}`} checked={!!c[k]} onChange={(e) => set(i, { [k]: e.target.checked })} />
                  </td>
                ))}
                <td>
                  <button type="button" aria-label={`Remove column ${i + 1}`} disabled={cols.length === 1} onClick={() => setCols(cols.filter((_, j) => j !== i))}>
                    ×
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" onClick={() => setCols([...cols, { name: '', type: 'text' }])}>
          Add column
        </button>
      </form>
    </Dialog>
  );
}

/** A value as a cell shows it and an input edits it. */
function show(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** An edited text back into the column's type ('' is NULL). */
function parse(c: Column, s: string): unknown {
  if (s === '' && c.type !== 'text') return null;
  if (c.type === 'json') {
    try {
      return JSON.parse(s);
    } catch {
      return s;
    }
  }
  return s;
}

function TableView({ table, onChanged }: { table: Table; onChanged: () => void }) {
  const me = useMe();
  const toast = useToast();
  const [filter, setFilter] = useState<{ column: string; op: string; value: string }>({ column: (table.columns ?? [])[0]?.name ?? '', op: 'eq', value: '' });
  const [applied, setApplied] = useState<string[]>([]);
  const [sort, setSort] = useState('');
  const [offset, setOffset] = useState(0);
  const [editing, setEditing] = useState<{ key: string | null; values: Record<string, string> } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [progress, setProgress] = useState<string>('');
  const [imported, setImported] = useState<ImportResult | null>(null);
  const key = (table.columns ?? []).find((c) => c.primary_key);
  const rows = useLoad(async (signal) => {
    const q = [`limit=${PAGE}`, `offset=${offset}`, sort ? `sort=${enc(sort)}` : '', ...applied.map((f) => `filter=${enc(f)}`)].filter(Boolean).join('&');
    return (await rawRequest<RowsPage>('GET', `/data/tables/${enc(table.name)}/rows/?${q}`, undefined, {}, signal)).data;
  }, [table.name, sort, offset, applied.join('\n')]);
  const page = rows.data;
  const editable = canEdit(me);
  const save = async () => {
    if (!editing) return;
    const body: Row = {};
    for (const c of (table.columns ?? [])) {
      if (!(c.name in editing.values)) continue;
      if (editing.key === null && c.primary_key && editing.values[c.name] === '' && c.type === 'number') continue;
      body[c.name] = parse(c, editing.values[c.name]);
    }
    try {
      if (editing.key === null) await rawRequest('POST', `/data/tables/${enc(table.name)}/rows/`, body);
      else await rawRequest('PUT', `/data/tables/${enc(table.name)}/rows/${enc(editing.key)}`, body);
      setEditing(null);
      rows.reload();
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async (k: string) => {
    try {
      await rawRequest('DELETE', `/data/tables/${enc(table.name)}/rows/${enc(k)}`);
      rows.reload();
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  const drop = async () => {
    if (!window.confirm(`Delete table ${table.name} and its ${table.rows} rows?`)) return;
    try {
      await api.del('/data/tables/{table}/', { path: { table: table.name } });
      toast(`Table ${table.name} deleted`);
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  const importFile = (file: File) => {
    setImported(null);
    setError(null);
    const fd = new FormData();
    fd.append('file', file);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/data/tables/${enc(table.name)}/import`);
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    xhr.setRequestHeader('X-CSRF-Token', csrfHeader());
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) setProgress(e.loaded < e.total ? `Uploading… ${Math.round((100 * e.loaded) / e.total)}%` : 'Importing rows…');
    };
    xhr.upload.onload = () => setProgress('Importing rows…');
    xhr.onerror = () => {
      setProgress('');
      setError(new ApiError(0, { detail: 'The server could not be reached.' }));
    };
    xhr.onload = () => {
      setProgress('');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = { detail: xhr.responseText || xhr.statusText };
      }
      if (xhr.status >= 300) {
        setError(new ApiError(xhr.status, body));
        return;
      }
      setImported(body as unknown as ImportResult);
      rows.reload();
      onChanged();
    };
    setProgress('Uploading… 0%');
    xhr.send(fd);
  };
  return (
    <div>
      <div className="page-head">
        <h2>{table.name}</h2>
        <span className="muted small">
          {(table.columns ?? []).map((c) => `${c.name}: ${c.type}${c.primary_key ? ' (key)' : c.unique ? ' (unique)' : c.index ? ' (index)' : ''}`).join(' · ')}
        </span>
        <div className="spacer" />
        <a className="button" href={`/data/tables/${enc(table.name)}/export.csv`} download>
          Export CSV
        </a>
        {editable && (
          <>
            <label className="button">
              Import CSV
              <input
                type="file"
                accept=".csv,text/csv"
                aria-label="Import CSV"
                hidden
                onChange={(e) => {
                  const f = e.target.files?.[0];
                  if (f) importFile(f);
                  e.target.value = '';
                }}
              />
            </label>
            <button type="button" onClick={() => setEditing({ key: null, values: {} })}>
              Add row
            </button>
            <button type="button" className="danger" onClick={() => void drop()}>
              Delete table
            </button>
          </>
        )}
      </div>
      {progress && (
        <p role="status" data-testid="import-progress">
          {progress}
        </p>
      )}
      {imported && (
        <div className="notice" role="status" data-testid="import-result">
          Imported {imported.inserted} rows{imported.failed ? `; ${imported.failed} skipped` : ''}.
          {(imported.errors ?? []).length > 0 && (
            <ul>
              {(imported.errors ?? []).slice(0, 10).map((e, i) => (
                <li key={i}>
                  line {e.line}: {e.message}
                </li>
              ))}
            </ul>
          )}
          {(imported.warnings ?? []).map((w) => (
            <p key={w} className="muted small">
              {w}
            </p>
          ))}
        </div>
      )}
      <ErrorBanner error={error ?? rows.error} onDismiss={() => setError(null)} />
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setOffset(0);
          setApplied([...applied, `${filter.column}:${filter.op}${filter.op === 'null' || filter.op === 'not_null' ? '' : ':' + filter.value}`]);
          setFilter({ ...filter, value: '' });
        }}
      >
        <select aria-label="Filter column" value={filter.column} onChange={(e) => setFilter({ ...filter, column: e.target.value })}>
          {(table.columns ?? []).map((c) => (
            <option key={c.name}>{c.name}</option>
          ))}
        </select>
        <select aria-label="Filter operator" value={filter.op} onChange={(e) => setFilter({ ...filter, op: e.target.value })}>
          {OPS.map((o) => (
            <option key={o}>{o}</option>
          ))}
        </select>
        <input aria-label="Filter value" value={filter.value} onChange={(e) => setFilter({ ...filter, value: e.target.value })} />
        <button type="submit">Add filter</button>
        {applied.map((f) => (
          <button key={f} type="button" className="chip" title="Remove this filter" onClick={() => { setOffset(0); setApplied(applied.filter((x) => x !== f)); }}>
            {f} ×
          </button>
        ))}
      </form>
      <div className="table-wrap">
        <table className="table" aria-label={`Rows of ${table.name}`}>
          <thead>
            <tr>
              {(table.columns ?? []).map((c) => (
                <th key={c.name}>
                  <button
                    type="button"
                    className="link"
                    title="Sort"
                    onClick={() => setSort(sort === c.name ? `-${c.name}` : c.name)}
                  >
                    {c.name} {sort === c.name ? '▲' : sort === `-${c.name}` ? '▼' : ''}
                  </button>
                </th>
              ))}
              {editable && key && <th />}
            </tr>
          </thead>
          <tbody>
            {editing?.key === null && <EditRow table={table} editing={editing} setEditing={setEditing} save={save} />}
            {(page?.rows ?? []).map((r) => {
              const k = key ? show(r[key.name]) : '';
              if (editing && editing.key === k && key) return <EditRow key={k} table={table} editing={editing} setEditing={setEditing} save={save} />;
              return (
                <tr key={k || JSON.stringify(r)}>
                  {(table.columns ?? []).map((c) => (
                    <td key={c.name}>{show(r[c.name])}</td>
                  ))}
                  {editable && key && (
                    <td className="actions">
                      <button type="button" onClick={() => setEditing({ key: k, values: Object.fromEntries((table.columns ?? []).map((c) => [c.name, show(r[c.name])])) })}>
                        Edit
                      </button>
                      <button type="button" className="danger" onClick={() => void remove(k)}>
                        Delete
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {page && (
        <div className="toolbar">
          <span className="muted small" data-testid="rows-total">
            {page.total === 0 ? 'No rows' : `Rows ${offset + 1}–${Math.min(offset + PAGE, page.total)} of ${page.total}`}
          </span>
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous
          </button>
          <button type="button" disabled={offset + PAGE >= page.total} onClick={() => setOffset(offset + PAGE)}>
            Next
          </button>
        </div>
      )}
    </div>
  );
}

function EditRow({
  table,
  editing,
  setEditing,
  save,
}: {
  table: Table;
  editing: { key: string | null; values: Record<string, string> };
  setEditing: (e: { key: string | null; values: Record<string, string> } | null) => void;
  save: () => Promise<void>;
}) {
  return (
    <tr className="editing">
      {(table.columns ?? []).map((c) => (
        <td key={c.name}>
          {c.type === 'boolean' ? (
            <select aria-label={`Edit ${c.name}`} value={editing.values[c.name] ?? ''} onChange={(e) => setEditing({ ...editing, values: { ...editing.values, [c.name]: e.target.value } })}>
              <option value="" />
              <option>true</option>
              <option>false</option>
            </select>
          ) : (
            <input
              aria-label={`Edit ${c.name}`}
              value={editing.values[c.name] ?? ''}
              placeholder={editing.key === null && c.primary_key && c.type === 'number' ? 'auto' : c.type}
              disabled={editing.key !== null && c.primary_key}
              onChange={(e) => setEditing({ ...editing, values: { ...editing.values, [c.name]: e.target.value } })}
            />
          )}
        </td>
      ))}
      <td className="actions">
        <button type="button" className="primary" onClick={() => void save()}>
          Save
        </button>
        <button type="button" onClick={() => setEditing(null)}>
          Cancel
        </button>
      </td>
    </tr>
  );
}

function Console({ onRan }: { onRan: () => void }) {
  const [sql, setSql] = useState('SELECT * FROM ');
  const [res, setRes] = useState<SQLResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setRes(await api.post('/data/sql', { body: { sql } }));
      onRan();
    } catch (err) {
      setRes(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="data-console">
      <h2>SQL console</h2>
      <p className="muted small">Runs on this project's database only, in one transaction, with a time limit and at most 1000 rows shown.</p>
      <form onSubmit={(e) => void run(e)}>
        <textarea
          aria-label="SQL"
          className="code"
          rows={5}
          value={sql}
          onChange={(e) => setSql(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void run(e);
          }}
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Running…' : 'Run'}
        </button>
      </form>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {res && (
        <div data-testid="sql-result">
          <p className="muted small">
            {(res.columns ?? []).length ? `${(res.rows ?? []).length} row${(res.rows ?? []).length === 1 ? '' : 's'}${res.truncated ? ' (more not shown)' : ''}` : `${res.affected} row(s) changed`} ·{' '}
            {res.statements} statement(s) · {res.duration_ms} ms
          </p>
          {(res.columns ?? []).length > 0 && (
            <div className="table-wrap">
              <table className="table" aria-label="Query result">
                <thead>
                  <tr>
                    {(res.columns ?? []).map((c, i) => (
                      <th key={i}>{c}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {(res.rows ?? []).map((r, i) => (
                    <tr key={i}>
                      {(r ?? []).map((v, j) => (
                        <td key={j}>{show(v)}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
