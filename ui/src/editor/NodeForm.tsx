// The side panel's form for a node, generated from the node type's field
// schema (GET /chat-flow/node-types/): kinds, enums, options, limits and
// defaults all come from the server; the widgets the type names
// (template_picker, http_test, code_test) are shown above the fields.
import { memo, useEffect, useId, useMemo, useState } from 'react';
import type { Cfg, FieldSpec, NodeTypeSpec } from './graph';
import { exitsOf, templatePlaceholders } from './graph';
import { TemplateInput } from './TemplateInput';
import { CodeField } from './CodeField';
import { DataTables } from './DataTables';
import { Link } from '../lib/router';
import type { Problem } from './context';
import { templates as templatesApi, type MessageTemplate } from '../api/templates';
import { api, errorMessage, type Schemas } from '../api/client';

const humanize = (s: string) => (s ? s[0].toUpperCase() + s.slice(1).replace(/_/g, ' ') : s);

/** Immutable set of a key; undefined/empty removes it. */
export function setKey(obj: Cfg, key: string, v: unknown): Cfg {
  const out = { ...obj };
  if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0 && key !== 'rows')) delete out[key];
  else out[key] = v;
  return out;
}

/** A new item for an array field: ids get a fresh name so exits stay unique. */
export function newItem(field: FieldSpec, existing: unknown[]): unknown {
  const it = field.items as FieldSpec | undefined;
  if (!it) return '';
  if (it.kind !== 'object') return it.kind === 'integer' || it.kind === 'number' ? 0 : '';
  const out: Cfg = {};
  const prefix = field.name === 'rules' ? 'rule' : field.name === 'branches' ? 'branch' : field.name === 'rows' ? 'row' : field.name.replace(/s$/, '');
  for (const f of it.fields ?? []) {
    if (f.name === 'id') {
      const ids = new Set(existing.map((e) => (e as Cfg)?.id));
      let i = existing.length + 1;
      while (ids.has(`${prefix}_${i}`)) i++;
      out.id = `${prefix}_${i}`;
    } else if (f.default !== undefined && f.default !== null) out[f.name] = f.default;
    else if (f.kind === 'array' && f.required) out[f.name] = [newItem(f, [])];
    else if (f.required && (f.kind === 'string' || f.kind === 'template')) out[f.name] = f.enum?.[0] ?? '';
  }
  return out;
}

interface Ctx {
  variables: string[];
  /** The node's data, for fields whose options depend on another field. */
  node?: Cfg;
  /** Start only: the channel types a trigger may name, with the server's word on each. */
  triggerChannelTypes?: Schemas['TriggerChannelType'][];
}

/**
 * A start trigger's channel types as checkboxes from the server's list: the
 * ones this build cannot connect are shown disabled, never offered as if
 * they worked (one already in the flow stays, so it can be unticked).
 */
function ChannelTypesPicker({ value, types, onChange }: { value: unknown; types: Schemas['TriggerChannelType'][]; onChange: (v: unknown) => void }) {
  const chosen = Array.isArray(value) ? (value as string[]) : [];
  return (
    <fieldset className="group" aria-label="Channel types">
      <legend>Channel types</legend>
      <p className="hint">Listen on these channel types only; none ticked: every channel.</p>
      {types.map((t) => {
        const on = chosen.includes(t.type);
        return (
          <label key={t.type} className={`check ${t.available ? '' : 'unavailable'}`} title={t.unavailable_reason}>
            <input
              type="checkbox"
              checked={on}
              disabled={!t.available && !on}
              onChange={(e) => {
                const next = e.target.checked ? [...chosen, t.type] : chosen.filter((c) => c !== t.type);
                onChange(next.length ? next : undefined);
              }}
            />{' '}
            {t.type}
            {!t.available && <span className="muted small"> — unavailable in this build</span>}
          </label>
        );
      })}
    </fieldset>
  );
}

type Channel = Schemas['ChannelView'];

/** ChannelPicker chooses one of the project's channels of a type (a voice number for a call), or says how to add one. */
function ChannelPicker({ id, describedBy, type, value, onChange }: { id: string; describedBy?: string; type: string; value: string; onChange: (v: string) => void }) {
  const [chans, setChans] = useState<Channel[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let live = true;
    api.get('/channels/').then(
      (p) => live && setChans((p.results ?? []).filter((c) => c.type === type)),
      (e) => live && setError(errorMessage(e)),
    );
    return () => {
      live = false;
    };
  }, [type]);
  const known = !chans || !value || chans.some((c) => c.id === value);
  return (
    <>
      <select id={id} aria-describedby={describedBy} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{chans === null ? 'Loading…' : chans.length ? 'Choose…' : `No ${type} channel yet`}</option>
        {!known && <option value={value}>{value} (not a {type} channel of this project)</option>}
        {(chans ?? []).map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
            {c.address ? ` (${c.address})` : ''}
          </option>
        ))}
      </select>
      {chans && chans.length === 0 && (
        <p className="hint">
          Add one under <Link to="/channels">Channels</Link> (type “{type}”); <code>parley serve --sandbox</code> adds a simulated one.
        </p>
      )}
      {error && <p className="error-text small">{error}</p>}
    </>
  );
}

function FieldEditor({ field, path, value, onChange, ctx }: { field: FieldSpec; path: string; value: unknown; onChange: (v: unknown) => void; ctx: Ctx }) {
  const id = useId();
  const label = (
    <label htmlFor={id}>
      {humanize(field.name)}
      {field.required && <span className="req" aria-hidden> *</span>}
    </label>
  );
  const doc = field.doc ? (
    <p className="hint" id={`${id}-doc`}>
      {field.doc}
    </p>
  ) : null;
  // The hint and the length counter describe the control to screen readers.
  const describedBy = [field.doc ? `${id}-doc` : '', field.max_length && (field.kind === 'string' || field.kind === 'regex') ? `${id}-count` : ''].filter(Boolean).join(' ') || undefined;

  if (field.channel_type) {
    return (
      <div className="field">
        {label}
        <ChannelPicker id={id} describedBy={describedBy} type={field.channel_type} value={typeof value === 'string' ? value : ''} onChange={(v) => onChange(v || undefined)} />
        {doc}
      </div>
    );
  }
  if (field.options?.length && field.option_notes?.length) {
    // Options another field rules out are shown disabled, with the reason.
    const ruledOut = new Map<string, string>();
    for (const n of field.option_notes) {
      const sib = ctx.node?.[n.field];
      if ((typeof sib === 'string' ? sib : '') === n.value) ruledOut.set(n.option, n.reason);
    }
    const cur = typeof value === 'string' ? value : '';
    return (
      <div className="field">
        {label}
        <select id={id} aria-describedby={describedBy} value={cur} onChange={(e) => onChange(e.target.value || undefined)}>
          {!field.required && <option value="">(default)</option>}
          {field.options.map((m) => (
            <option key={m} value={m} disabled={ruledOut.has(m) && m !== cur} title={ruledOut.get(m)}>
              {m}
              {ruledOut.has(m) ? ` — ${ruledOut.get(m)}` : ''}
            </option>
          ))}
        </select>
        {cur && ruledOut.has(cur) && <p className="error-text small">{ruledOut.get(cur)}: choose another voice.</p>}
        {doc}
      </div>
    );
  }
  if (field.options?.length) {
    return (
      <div className="field">
        {label}
        <select id={id} aria-describedby={describedBy} value={typeof value === 'string' && value ? value : field.options[0]} onChange={(e) => onChange(e.target.value)}>
          {field.options.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </div>
    );
  }

  switch (field.kind) {
    case 'string':
    case 'regex':
      if (field.enum?.length) {
        return (
          <div className="field">
            {label}
            <select id={id} aria-describedby={describedBy} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value || undefined)}>
              {!field.required && <option value="">(default)</option>}
              {field.required && !value && <option value="">Choose…</option>}
              {field.enum.map((o) => (
                <option key={o} value={o}>
                  {humanize(o)}
                </option>
              ))}
            </select>
            {doc}
          </div>
        );
      }
      if (field.format === 'code') {
        return (
          <div className="field">
            {label}
            <CodeField id={id} describedBy={describedBy} value={typeof value === 'string' ? value : ''} maxLength={field.max_length} onChange={onChange} />
            {doc}
          </div>
        );
      }
      return (
        <div className="field">
          {label}
          <input
            id={id} aria-describedby={describedBy}
            className={field.kind === 'regex' ? 'mono' : undefined}
            value={typeof value === 'string' ? value : value == null ? '' : String(value)}
            maxLength={field.max_length}
            onChange={(e) => onChange(e.target.value)}
          />
          {field.max_length && <span className="counter" id={`${id}-count`}>{String(value ?? '').length}/{field.max_length}</span>}
          {doc}
        </div>
      );
    case 'template':
      return (
        <div className="field">
          {label}
          <TemplateInput
            id={id}
            describedBy={describedBy}
            value={typeof value === 'string' ? value : ''}
            onChange={(v) => onChange(v)}
            variables={ctx.variables}
            multiline={!field.single_line}
            maxLength={field.max_length}
          />
          {doc}
        </div>
      );
    case 'integer':
    case 'number':
      return (
        <div className="field">
          {label}
          <input
            id={id} aria-describedby={describedBy}
            type="number"
            step={field.kind === 'integer' ? 1 : 'any'}
            min={field.minimum ?? undefined}
            max={field.maximum ?? undefined}
            value={typeof value === 'number' ? value : ''}
            onChange={(e) => onChange(e.target.value === '' ? undefined : Number(e.target.value))}
          />
          {doc}
        </div>
      );
    case 'boolean':
      return (
        <div className="field checkbox">
          <input id={id} aria-describedby={describedBy} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked || undefined)} />
          {label}
          {doc}
        </div>
      );
    case 'object': {
      const obj = value && typeof value === 'object' && !Array.isArray(value) ? (value as Cfg) : undefined;
      if (!obj && !field.required) {
        return (
          <div className="field">
            <span className="label">{humanize(field.name)}</span>
            <button type="button" onClick={() => onChange(newItem({ name: field.name, kind: 'array', items: field } as FieldSpec, []))}>
              Add {humanize(field.name).toLowerCase()}
            </button>
            {doc}
          </div>
        );
      }
      return (
        <fieldset className="group">
          <legend>{humanize(field.name)}</legend>
          {doc}
          {(field.fields ?? []).map((f) => (
            <FieldEditor
              key={f.name}
              field={f}
              path={`${path}.${f.name}`}
              value={obj?.[f.name]}
              onChange={(v) => onChange(setKey(obj ?? {}, f.name, v))}
              ctx={ctx}
            />
          ))}
          {!field.required && (
            <button type="button" className="link danger" onClick={() => onChange(undefined)}>
              Remove {humanize(field.name).toLowerCase()}
            </button>
          )}
        </fieldset>
      );
    }
    case 'array': {
      if (field.name === 'channel_types' && ctx.triggerChannelTypes?.length) return <ChannelTypesPicker value={value} types={ctx.triggerChannelTypes} onChange={onChange} />;
      const arr = Array.isArray(value) ? value : [];
      const item = field.items as FieldSpec | undefined;
      const max = field.max_items;
      const full = max !== undefined && arr.length >= max;
      const itemPath = `${path}[]`;
      return (
        <fieldset className="group">
          <legend>
            {humanize(field.name)}
            {max !== undefined && (
              <span className="muted small">
                {' '}
                ({arr.length}/{max})
              </span>
            )}
          </legend>
          {doc}
          {arr.map((v, i) => (
            <div key={i} className="array-item">
              {item?.kind === 'object' ? (
                <div className="grow">
                  {(item.fields ?? []).map((f) => (
                    <FieldEditor
                      key={f.name}
                      field={f}
                      path={`${itemPath}.${f.name}`}
                      value={(v as Cfg)?.[f.name]}
                      onChange={(nv) => onChange(arr.map((x, j) => (j === i ? setKey((x as Cfg) ?? {}, f.name, nv) : x)))}
                      ctx={ctx}
                    />
                  ))}
                </div>
              ) : (
                <ScalarItem
                  label={`${humanize(field.name.replace(/s$/, ''))} ${i + 1}`}
                  item={item}
                  value={v}
                  maxLength={item?.max_length}
                  variables={ctx.variables}
                  onChange={(nv) => onChange(arr.map((x, j) => (j === i ? nv : x)))}
                />
              )}
              <div className="item-actions">
                <button type="button" className="icon" aria-label={`Move ${field.name} ${i + 1} up`} disabled={i === 0} onClick={() => onChange(swap(arr, i, i - 1))}>
                  ↑
                </button>
                <button type="button" className="icon" aria-label={`Remove ${field.name} ${i + 1}`} onClick={() => onChange(arr.filter((_, j) => j !== i))}>
                  ×
                </button>
              </div>
            </div>
          ))}
          <button type="button" disabled={full} onClick={() => onChange([...arr, newItem(field, arr)])} title={full ? `WhatsApp allows at most ${max}` : undefined}>
            Add {humanize(field.name.replace(/s$/, '')).toLowerCase()}
          </button>
        </fieldset>
      );
    }
    case 'map': {
      const obj = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
      const entries = Object.entries(obj);
      return (
        <fieldset className="group">
          <legend>{humanize(field.name)}</legend>
          {entries.map(([k, v], i) => (
            <div key={i} className="array-item">
              <input aria-label={`${field.name} name ${i + 1}`} value={k} placeholder="Name" onChange={(e) => onChange(Object.fromEntries(entries.map(([kk, vv], j) => (j === i ? [e.target.value, vv] : [kk, vv]))))} />
              <input aria-label={`${field.name} value ${i + 1}`} value={String(v ?? '')} placeholder="Value" onChange={(e) => onChange({ ...obj, [k]: e.target.value })} />
              <button type="button" className="icon" aria-label={`Remove ${field.name} ${k}`} onClick={() => onChange(Object.fromEntries(entries.filter((_, j) => j !== i)))}>
                ×
              </button>
            </div>
          ))}
          <button type="button" onClick={() => onChange({ ...obj, [nextKey(obj)]: '' })}>
            Add {humanize(field.name).toLowerCase().replace(/s$/, '')}
          </button>
        </fieldset>
      );
    }
    default:
      return <JsonField id={id} label={label} value={value} onChange={onChange} />;
  }
}

function nextKey(obj: Record<string, unknown>): string {
  let i = 1;
  while (`name${i}` in obj) i++;
  return `name${i}`;
}
function swap<T>(a: T[], i: number, j: number): T[] {
  if (j < 0 || j >= a.length) return a;
  const out = [...a];
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}

function ScalarItem({ label, item, value, onChange, maxLength, variables }: { label: string; item?: FieldSpec; value: unknown; onChange: (v: unknown) => void; maxLength?: number; variables: string[] }) {
  const id = useId();
  if (item?.kind === 'template')
    return (
      <div className="grow">
        <TemplateInput id={id} ariaLabel={label} value={String(value ?? '')} onChange={onChange} variables={variables} multiline={false} />
      </div>
    );
  return (
    <div className="grow">
      <input id={id} aria-label={label} value={String(value ?? '')} maxLength={maxLength} onChange={(e) => onChange(item?.kind === 'number' ? Number(e.target.value) : e.target.value)} />
      {maxLength && <span className={`counter ${String(value ?? '').length >= maxLength ? 'at-limit' : ''}`}>{String(value ?? '').length}/{maxLength}</span>}
    </div>
  );
}

function JsonField({ id, label, value, onChange }: { id: string; label: React.ReactNode; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(value === undefined ? '' : JSON.stringify(value, null, 2));
  const [bad, setBad] = useState(false);
  return (
    <div className="field">
      {label}
      <textarea
        id={id}
        className="mono"
        rows={4}
        value={text}
        aria-invalid={bad}
        aria-describedby={bad ? `${id}-bad` : undefined}
        onChange={(e) => {
          setText(e.target.value);
          if (!e.target.value.trim()) {
            setBad(false);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(e.target.value));
            setBad(false);
          } catch {
            setBad(true);
          }
        }}
      />
      {bad && (
        <p className="hint error-text" id={`${id}-bad`}>
          Not valid JSON yet.
        </p>
      )}
    </div>
  );
}

/** Picks one of the project's message templates and maps its parameters. */
function TemplatePicker({ cfg, onChange, variables }: { cfg: Cfg; onChange: (c: Cfg) => void; variables: string[] }) {
  const [list, setList] = useState<MessageTemplate[] | null>(null);
  const [err, setErr] = useState('');
  useEffect(() => {
    templatesApi.list().then(
      (p) => setList(p.results ?? []),
      (e: Error) => setErr(e.message),
    );
  }, []);
  const name = typeof cfg.template_name === 'string' ? cfg.template_name : '';
  const chosen = list?.find((t) => t.name === name && (!cfg.language || t.language === cfg.language)) ?? list?.find((t) => t.name === name);
  const body = chosen?.components.find((c) => c.type === 'BODY')?.text ?? '';
  const header = chosen?.components.find((c) => c.type === 'HEADER' && (c.format ?? 'TEXT') === 'TEXT')?.text ?? '';
  const bodyVars = templatePlaceholders(body);
  const headerVars = templatePlaceholders(header);
  const params = (cfg.params ?? {}) as { body?: string[]; header?: string[] };
  const setParam = (part: 'body' | 'header', i: number, v: string, n: number) => {
    const arr = [...(params[part] ?? [])];
    while (arr.length < n) arr.push('');
    arr[i] = v;
    onChange(setKey(cfg, 'params', { ...params, [part]: arr }));
  };
  return (
    <fieldset className="group">
      <legend>Message template</legend>
      {list ? (
        <div className="field">
          <label htmlFor="tpl-pick">Template</label>
          <select
            id="tpl-pick"
            value={chosen ? `${chosen.name}|${chosen.language}` : ''}
            onChange={(e) => {
              const t = list.find((x) => `${x.name}|${x.language}` === e.target.value);
              if (!t) return;
              const qr = (t.components.find((c) => c.type === 'BUTTONS')?.buttons ?? []).filter((b) => b.type === 'QUICK_REPLY').map((b) => b.text ?? '');
              let next = setKey(setKey(cfg, 'template_name', t.name), 'language', t.language);
              next = setKey(next, 'buttons', qr.length ? qr : undefined);
              delete next.template_id;
              onChange(next);
            }}
          >
            <option value="">Choose a template…</option>
            {list.map((t) => (
              <option key={`${t.name}|${t.language}`} value={`${t.name}|${t.language}`}>
                {t.name} ({t.language}) {t.status ? `— ${t.status}` : ''}
              </option>
            ))}
          </select>
          {list.length === 0 && <p className="hint">No templates yet: create one on the Templates page.</p>}
        </div>
      ) : (
        <p className="hint">{err ? `Templates could not be loaded (${err}); type the name below.` : 'Loading templates…'}</p>
      )}
      {body && <p className="tpl-body small">{body}</p>}
      {[
        ['header', headerVars],
        ['body', bodyVars],
      ].map(([part, vars]) =>
        (vars as string[]).map((v, i) => (
          <div className="field" key={`${part}${v}`}>
            <label htmlFor={`tp-${part}-${i}`}>
              {part === 'body' ? 'Body' : 'Header'} {`{{${v}}}`}
            </label>
            <TemplateInput
              id={`tp-${part}-${i}`}
              multiline={false}
              variables={variables}
              value={params[part as 'body']?.[i] ?? ''}
              onChange={(val) => setParam(part as 'body', i, val, (vars as string[]).length)}
            />
          </div>
        )),
      )}
    </fieldset>
  );
}

export const NodeForm = memo(NodeFormImpl);

type HttpTestResult = { status: number; url: string; body: string; error?: string; duration_ms: number; truncated: boolean };

// HttpTestCall makes the node's request once through the server (the same
// guarded client flows use), with sample values for its variables.
function HttpTestCall({ cfg, variables }: { cfg: Cfg; variables: string[] }) {
  const used = variables.filter((v) => JSON.stringify(cfg).includes(v));
  const [samples, setSamples] = useState<Record<string, string>>({});
  const [result, setResult] = useState<HttpTestResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries((cfg.headers as Record<string, unknown>) ?? {})) headers[k] = String(v ?? '');
      const body = typeof cfg.body === 'string' ? cfg.body : cfg.body === undefined ? undefined : JSON.stringify(cfg.body);
      const r = await api.post('/chat-flow/http-test/', {
        body: {
          method: (String(cfg.method ?? 'GET').toUpperCase() || 'GET') as 'GET',
          url: String(cfg.url ?? ''),
          headers,
          ...(body ? { body } : {}),
          ...(typeof cfg.timeout_ms === 'number' ? { timeout_ms: cfg.timeout_ms } : {}),
          variables: samples,
        },
      });
      setResult(r as unknown as HttpTestResult);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <fieldset className="group">
      <legend>Test call</legend>
      {used.map((v) => (
        <div className="field inline" key={v}>
          <label htmlFor={`http-sample-${v}`}>{v}</label>
          <input id={`http-sample-${v}`} value={samples[v] ?? ''} placeholder="sample value" onChange={(e) => setSamples({ ...samples, [v]: e.target.value })} />
        </div>
      ))}
      <button type="button" onClick={() => void run()} disabled={busy || !cfg.url}>
        {busy ? 'Calling…' : 'Test call'}
      </button>
      {error && <p className="error-text small">{error}</p>}
      {result && (
        <div className="small" aria-label="Test call result">
          <p>
            <strong>{result.error ? 'Failed' : `HTTP ${result.status}`}</strong> · {result.duration_ms} ms · <code>{result.url}</code>
          </p>
          {result.error ? <p className="error-text">{result.error}</p> : <pre className="mono scroll-small">{result.body}{result.truncated ? '\n…' : ''}</pre>}
        </div>
      )}
    </fieldset>
  );
}

type CodeTestResult = { variables?: Record<string, unknown> | null; exit?: string; error?: string; duration_ms: number };

/** Runs a code node's script once on the server, with sample input. */
function CodeTestRun({ cfg }: { cfg: Cfg }) {
  const [vars, setVars] = useState('{}');
  const [name, setName] = useState('');
  const [text, setText] = useState('');
  const [result, setResult] = useState<CodeTestResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      let variables: Record<string, unknown>;
      try {
        variables = JSON.parse(vars || '{}') as Record<string, unknown>;
      } catch {
        throw new Error('Sample variables must be a JSON object, e.g. {"qty": 3}');
      }
      const r = await api.post('/chat-flow/code-test/', {
        body: {
          code: String(cfg.code ?? ''),
          ...(typeof cfg.timeout_ms === 'number' && cfg.timeout_ms > 0 ? { timeout_ms: cfg.timeout_ms } : {}),
          variables,
          contact: { name },
          input_text: text,
        },
      });
      setResult(r as unknown as CodeTestResult);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <fieldset className="group">
      <legend>Test run</legend>
      <div className="field">
        <label htmlFor="code-sample-vars">Sample vars (JSON)</label>
        <textarea id="code-sample-vars" className="mono" rows={2} value={vars} onChange={(e) => setVars(e.target.value)} />
      </div>
      <div className="field inline">
        <label htmlFor="code-sample-name">Contact name</label>
        <input id="code-sample-name" value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field inline">
        <label htmlFor="code-sample-text">Inbound text</label>
        <input id="code-sample-text" value={text} onChange={(e) => setText(e.target.value)} />
      </div>
      <button type="button" onClick={() => void run()} disabled={busy || !cfg.code}>
        {busy ? 'Running…' : 'Test run'}
      </button>
      {error && <p className="error-text small">{error}</p>}
      {result && (
        <div className="small" aria-label="Test run result">
          <p>
            <strong>{result.error ? 'Failed' : `Exit ${result.exit || '(first)'}`}</strong> · {result.duration_ms} ms
          </p>
          {result.error ? <p className="error-text">{result.error}</p> : <pre className="mono scroll-small">{JSON.stringify(result.variables ?? {}, null, 2)}</pre>}
        </div>
      )}
    </fieldset>
  );
}

function NodeFormImpl({
  nodeId,
  kind,
  cfg,
  spec,
  variables,
  problems,
  targets,
  edgeTargets,
  onChange,
  onConnect,
  onDelete,
  onDuplicate,
  readOnly,
}: {
  nodeId: string;
  kind: string;
  cfg: Cfg;
  spec?: NodeTypeSpec;
  variables: string[];
  problems: Problem[];
  targets: { id: string; label: string }[];
  edgeTargets: Map<string, string>;
  onChange: (cfg: Cfg) => void;
  onConnect: (exit: string, target: string) => void;
  onDelete: () => void;
  onDuplicate: () => void;
  readOnly: boolean;
}) {
  const ctx: Ctx = { variables, node: cfg, triggerChannelTypes: spec?.trigger_channel_types ?? undefined };
  const exits = useMemo(() => exitsOf(spec, cfg), [cfg, spec]);
  const widgets = spec?.widgets ?? [];
  return (
    <div className="node-form" aria-label={`Properties of ${nodeId}`}>
      <div className="node-form-head">
        <h3>{spec?.label ?? kind}</h3>
        <code>{nodeId}</code>
      </div>
      {spec && <p className="hint">{spec.description}</p>}
      {spec && !spec.available && (
        <p className="warn-text small">Not available in this build: {spec.unavailable_reason ?? 'a session reaching this node fails'}. Keep the flow in draft.</p>
      )}
      {problems.length > 0 && (
        <ul className="problem-list compact">
          {problems.map((p, i) => (
            <li key={i} className={p.severity}>
              {p.message}
            </li>
          ))}
        </ul>
      )}
      <fieldset disabled={readOnly} className="plain">
        {widgets.includes('template_picker') && <TemplatePicker cfg={cfg} onChange={onChange} variables={variables} />}
        {widgets.includes('http_test') && <HttpTestCall cfg={cfg} variables={variables} />}
        {widgets.includes('code_test') && <CodeTestRun cfg={cfg} />}
        {widgets.includes('data_tables') && <DataTables cfg={cfg} onChange={onChange} />}
        {(spec?.fields ?? []).map((f) => (
          <FieldEditor key={f.name} field={f} path={f.name} value={cfg[f.name]} onChange={(v) => onChange(setKey(cfg, f.name, v))} ctx={ctx} />
        ))}
        {!spec && <JsonField id={`raw-${nodeId}`} label={<label htmlFor={`raw-${nodeId}`}>Data</label>} value={cfg} onChange={(v) => onChange((v as Cfg) ?? {})} />}
        {exits.length > 0 && (
          <fieldset className="group">
            <legend>Connections</legend>
            {exits.map((x) => (
              <div className="field inline" key={x.id}>
                <label htmlFor={`exit-${nodeId}-${x.id}`}>
                  {x.label}
                  {x.optional && <span className="muted small"> (optional)</span>}
                </label>
                <select id={`exit-${nodeId}-${x.id}`} value={edgeTargets.get(x.id) ?? ''} onChange={(e) => onConnect(x.id, e.target.value)}>
                  <option value="">— not connected —</option>
                  {targets
                    .filter((t) => t.id !== nodeId)
                    .map((t) => (
                      <option key={t.id} value={t.id}>
                        {t.label}
                      </option>
                    ))}
                </select>
              </div>
            ))}
          </fieldset>
        )}
        <div className="row gap">
          <button type="button" onClick={onDuplicate} disabled={kind === 'start'}>
            Duplicate
          </button>
          <button type="button" className="danger" onClick={onDelete} disabled={kind === 'start'}>
            Delete node
          </button>
        </div>
      </fieldset>
    </div>
  );
}
