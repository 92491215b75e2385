import { useState } from 'react';
import { entriesOf, isRecord, scalarText } from './variables';

/**
 * VariablesView shows a session's variables as names and values, records
 * (a form's answers, a call's outcome) nested and indented, so that a
 * person reads them without parsing JSON; the JSON stays one click away
 * for copying.
 */
export function VariablesView({ vars, label }: { vars: Record<string, unknown>; label: string }) {
  // The JSON is drawn only when opened: closed, it would be the same
  // values twice in the page (for find-in-page and screen readers too).
  const [json, setJSON] = useState(false);
  return (
    <div className="vars-view">
      <Members value={vars} label={label} />
      <details className="small" onToggle={(e) => setJSON(e.currentTarget.open)}>
        <summary>JSON</summary>
        {json && <pre className="vars small">{JSON.stringify(vars, null, 2)}</pre>}
      </details>
    </div>
  );
}

function Members({ value, label }: { value: Record<string, unknown> | unknown[]; label?: string }) {
  return (
    <dl className={Array.isArray(value) ? 'vars-tree vars-list' : 'vars-tree'} aria-label={label}>
      {entriesOf(value).map(([k, v]) => {
        const text = scalarText(v);
        return (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{text !== null ? <span className={text === '—' ? 'muted' : undefined}>{text}</span> : <Members value={isRecord(v) ? v : (v as unknown[])} />}</dd>
          </div>
        );
      })}
    </dl>
  );
}
