// The data node's helper: the project's tables and their columns, so the
// table and column names are picked rather than remembered.
import { api } from '../api/client';
import { useLoad } from '../components/ui';
import { Link } from '../lib/router';
import type { Cfg } from './graph';

export function DataTables({ cfg, onChange }: { cfg: Cfg; onChange: (cfg: Cfg) => void }) {
  const tables = useLoad((signal) => api.get('/data/tables/', { signal }), []);
  const list = tables.data?.results ?? [];
  const current = list.find((t) => t.name === cfg.table);
  if (tables.error) return <p className="warn-text small">The project's tables could not be read.</p>;
  return (
    <div className="field">
      <label htmlFor="data-node-table">Table of the project's database</label>
      <select id="data-node-table" value={typeof cfg.table === 'string' ? cfg.table : ''} onChange={(e) => onChange({ ...cfg, table: e.target.value })}>
        <option value="">Choose…</option>
        {list.map((t) => (
          <option key={t.name} value={t.name}>
            {t.name}
          </option>
        ))}
      </select>
      {current ? (
        <p className="hint small">
          Columns: {(current.columns ?? []).map((c) => `${c.name} (${c.type})`).join(', ')}
        </p>
      ) : list.length === 0 && !tables.loading ? (
        <p className="hint small">
          No table yet: create one on the <Link to="/data">Data page</Link>.
        </p>
      ) : null}
    </div>
  );
}
