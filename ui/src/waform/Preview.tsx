// Preview draws a WhatsApp Flow screen by screen as the WhatsApp client
// does, lets the author fill it in, follows navigate actions (Back too) and
// shows the payload a complete action would send. It is standalone: give it
// the Flow JSON (text or object) and, optionally, sample data for the first
// screen.
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { resolve, text as textOf, type EvalCtx } from './expr';
import {
  back,
  ctxOf,
  current,
  entryScreen,
  exampleData,
  missingRequired,
  parseFlow,
  runAction,
  screenById,
  setField,
  shownChildren,
  start,
  type FlowAction,
  type FlowComponent,
  type FlowJSON,
  type RunState,
} from './runtime';
import './preview.css';

export interface PreviewProps {
  /** Flow JSON as text (as typed in an editor) or as an object. */
  flow: string | FlowJSON;
  /** data for the first screen (defaults to its __example__ values). */
  sampleData?: Record<string, unknown>;
  /** called with the complete payload when the author finishes the flow. */
  onComplete?: (payload: Record<string, unknown>) => void;
}

export function Preview({ flow, sampleData, onComplete }: PreviewProps) {
  const key = typeof flow === 'string' ? flow : JSON.stringify(flow);
  const parsed = useMemo(() => parseFlow(typeof flow === 'string' ? flow : flow), [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const sampleKey = JSON.stringify(sampleData ?? {});
  // The author may edit the first screen's data (to try If/Switch branches).
  const [ownSample, setOwnSample] = useState<Record<string, unknown> | undefined>(undefined);
  const sample = ownSample ?? sampleData;
  const [state, setState] = useState<RunState | null>(() => (parsed.flow ? start(parsed.flow, sample) : null));
  useEffect(() => {
    setState(parsed.flow ? start(parsed.flow, sample) : null);
  }, [parsed, sampleKey, ownSample]); // eslint-disable-line react-hooks/exhaustive-deps

  if (parsed.error || !state) {
    return (
      <div className="waf-preview" data-testid="waform-preview">
        <div className="waf-phone waf-broken" role="alert">
          {parsed.error ?? 'Nothing to preview.'}
        </div>
      </div>
    );
  }
  const act = (a: unknown) => {
    if (!a || typeof a !== 'object') return;
    const next = runAction(state, a as FlowAction);
    setState(next);
    if (next.completed && !state.completed) onComplete?.(next.completed.payload);
  };
  return (
    <div className="waf-preview" data-testid="waform-preview">
      <Phone state={state} set={setState} act={act} />
      <aside className="waf-side">
        <div className="small muted">
          Screen <b data-testid="waform-screen">{current(state).id}</b> · {state.stack.length} of {state.flow.screens.length} · version {state.flow.version ?? '?'}
        </div>
        <ol className="waf-path small">
          {state.stack.map((s, i) => (
            <li key={i}>{s.id}</li>
          ))}
        </ol>
        {!state.completed && missingRequired(state).length > 0 && (
          <p className="small muted" data-testid="waform-missing">
            To continue, fill in: {missingRequired(state).join(', ')}
          </p>
        )}
        {state.notice && (
          <p className="waf-notice small" role="status">
            {state.notice}
          </p>
        )}
        {state.completed && (
          <div className="waf-complete" data-testid="waform-complete">
            {state.completed.viaEndpoint ? (
              <>
                <h4>Last request to your endpoint</h4>
                <pre className="mono">{JSON.stringify(state.completed.payload, null, 2)}</pre>
              </>
            ) : (
              <>
                <h4>Completed — the response_json</h4>
                <pre className="mono">{JSON.stringify({ ...state.completed.payload, flow_token: '<flow token>' }, null, 2)}</pre>
              </>
            )}
          </div>
        )}
        <button type="button" onClick={() => setState(start(state.flow, sample))}>
          Restart
        </button>
        <SampleData flow={state.flow} value={sample} onChange={setOwnSample} />
      </aside>
    </div>
  );
}

/** SampleData edits the data the first screen opens with (defaults: its __example__ values). */
function SampleData({ flow, value, onChange }: { flow: FlowJSON; value?: Record<string, unknown>; onChange: (v: Record<string, unknown> | undefined) => void }) {
  const initial = JSON.stringify({ ...exampleData(entryScreen(flow)), ...(value ?? {}) }, null, 2);
  const [text, setText] = useState(initial);
  const [error, setError] = useState('');
  useEffect(() => setText(initial), [initial]);
  if (initial === '{}' && !value) return null;
  return (
    <details className="waf-sample">
      <summary className="small">First screen data</summary>
      <textarea
        aria-label="First screen data"
        className="mono"
        rows={6}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          try {
            const v = JSON.parse(e.target.value) as unknown;
            if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('an object is needed');
            setError('');
            onChange(v as Record<string, unknown>);
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      />
      {error && <p className="error-text small">{error}</p>}
    </details>
  );
}

function Phone({ state, set, act }: { state: RunState; set: (s: RunState) => void; act: (a: unknown) => void }) {
  const cur = current(state);
  const screen = screenById(state.flow, cur.id);
  const ctx = ctxOf(state);
  const shown = shownChildren(screen?.layout?.children, ctx);
  const footer = shown.find((c) => c.type === 'Footer');
  const missing = missingRequired(state);
  const field = (name: string | undefined) => (name ? cur.form[name] : undefined);
  const change = (name: string | undefined, v: unknown) => name && set(setField(state, name, v));
  const dateStyle: 'ms' | 'iso' = parseFloat(state.flow.version ?? '7') < 5 ? 'ms' : 'iso';
  if (state.completed) {
    return (
      <div className="waf-phone">
        <div className="waf-done" role="status">
          <div className="waf-tick">✓</div>
          <p>{screen?.success === false ? 'Closed' : 'Response sent'}</p>
          <p className="small muted">The business receives the answers in the chat.</p>
        </div>
      </div>
    );
  }
  return (
    <div className="waf-phone">
      <header className="waf-top">
        {state.stack.length > 1 ? (
          <button type="button" className="icon" aria-label="Back" onClick={() => set(back(state))}>
            ←
          </button>
        ) : (
          <span className="icon" aria-hidden>
            ×
          </span>
        )}
        <span className="waf-title">{textOf(screen?.title ?? '', ctx)}</span>
      </header>
      <div className="waf-body">
        {shown
          .filter((c) => c.type !== 'Footer')
          .map((c, i) => (
            <Component key={`${cur.id}-${i}-${c.type}-${c.name ?? ''}`} c={c} ctx={ctx} value={field(c.name)} change={(v) => change(c.name, v)} act={act} dateStyle={dateStyle} />
          ))}
      </div>
      {footer && (
        <footer className="waf-footer">
          {!!(footer['left-caption'] || footer['right-caption']) && (
            <div className="waf-captions small muted">
              <span>{textOf(footer['left-caption'] ?? '', ctx)}</span>
              <span>{textOf(footer['right-caption'] ?? '', ctx)}</span>
            </div>
          )}
          {!!footer['center-caption'] && <div className="waf-captions center small muted">{textOf(footer['center-caption'], ctx)}</div>}
          <button
            type="button"
            className="waf-cta"
            disabled={missing.length > 0 || resolve(footer.enabled, ctx) === false}
            title={missing.length ? `Fill in: ${missing.join(', ')}` : undefined}
            onClick={() => act(footer['on-click-action'])}
          >
            {textOf(footer.label, ctx)}
          </button>
          <div className="waf-managed small muted">Managed by the business. Learn more</div>
        </footer>
      )}
    </div>
  );
}

interface Option {
  id: string;
  title?: string;
  description?: string;
  metadata?: string;
  image?: string;
  'alt-text'?: string;
  enabled?: boolean;
  'on-select-action'?: unknown;
  'on-unselect-action'?: unknown;
}

function options(c: FlowComponent, ctx: EvalCtx): Option[] {
  const ds = resolve(c['data-source'], ctx);
  return Array.isArray(ds) ? (ds.filter((o) => o && typeof o === 'object') as Option[]) : [];
}

const imgSrc = (b64: string) => (b64.startsWith('data:') ? b64 : `data:image/png;base64,${b64}`);

function Component({
  c,
  ctx,
  value,
  change,
  act,
  dateStyle,
}: {
  c: FlowComponent;
  ctx: EvalCtx;
  value: unknown;
  change: (v: unknown) => void;
  act: (a: unknown) => void;
  dateStyle: 'ms' | 'iso';
}) {
  const t = (k: string) => textOf(c[k] ?? '', ctx);
  const label = (k = 'label') => {
    const v = resolve(c[k], ctx);
    if (v && typeof v === 'object') return textOf((v as Record<string, unknown>)['start-date'] ?? '', ctx);
    return textOf(v ?? '', ctx);
  };
  const disabled = resolve(c.enabled, ctx) === false;
  const helper = c['helper-text'] ? <span className="waf-helper">{label('helper-text')}</span> : null;
  const select = (o: Option, on: boolean) => {
    const a = on ? (o['on-select-action'] ?? c['on-select-action']) : (o['on-unselect-action'] ?? (o['on-select-action'] && !o['on-unselect-action'] ? o['on-select-action'] : c['on-unselect-action']));
    if (a) act(a);
  };
  switch (c.type) {
    case 'TextHeading':
      return <h2 className="waf-heading">{t('text')}</h2>;
    case 'TextSubheading':
      return <h3 className="waf-subheading">{t('text')}</h3>;
    case 'TextBody':
    case 'TextCaption': {
      const raw = resolve(c.text, ctx);
      const body = Array.isArray(raw) ? raw.map((x) => textOf(x, ctx)).join('\n') : textOf(raw ?? '', ctx);
      const w = String(c['font-weight'] ?? 'normal');
      const style = {
        fontWeight: w.includes('bold') ? 700 : undefined,
        fontStyle: w.includes('italic') ? 'italic' : undefined,
        textDecoration: c.strikethrough ? 'line-through' : undefined,
      } as const;
      return (
        <div className={c.type === 'TextBody' ? 'waf-text' : 'waf-caption'} style={style}>
          {c.markdown ? <Markdown src={body} /> : body}
        </div>
      );
    }
    case 'RichText': {
      const raw = resolve(c.text, ctx);
      return (
        <div className="waf-rich">
          <Markdown src={Array.isArray(raw) ? raw.map((x) => textOf(x, ctx)).join('\n') : textOf(raw ?? '', ctx)} rich />
        </div>
      );
    }
    case 'TextInput': {
      const it = String(c['input-type'] ?? 'text');
      const type = it === 'passcode' ? 'password' : it === 'phone' ? 'tel' : it;
      return (
        <label className="waf-field">
          <span className={c['label-variant'] === 'large' ? 'waf-label large' : 'waf-label'}>{label()}</span>
          <input
            type={type}
            name={c.name}
            value={String(value ?? '')}
            disabled={disabled}
            maxLength={typeof c['max-chars'] === 'number' ? c['max-chars'] : 80}
            inputMode={it === 'number' ? 'numeric' : undefined}
            onChange={(e) => change(e.target.value)}
          />
          {helper}
        </label>
      );
    }
    case 'TextArea':
      return (
        <label className="waf-field">
          <span className="waf-label">{label()}</span>
          <textarea name={c.name} rows={3} value={String(value ?? '')} disabled={disabled} maxLength={typeof c['max-length'] === 'number' ? c['max-length'] : 600} onChange={(e) => change(e.target.value)} />
          {helper}
        </label>
      );
    case 'Dropdown': {
      const opts = options(c, ctx);
      return (
        <label className="waf-field">
          <span className="waf-label">{label()}</span>
          <select
            name={c.name}
            value={String(value ?? '')}
            disabled={disabled}
            onChange={(e) => {
              change(e.target.value);
              const o = opts.find((x) => x.id === e.target.value);
              if (o) select(o, true);
            }}
          >
            <option value="">Select</option>
            {opts.map((o) => (
              <option key={o.id} value={o.id} disabled={o.enabled === false}>
                {o.title}
                {o.description ? ` — ${o.description}` : ''}
              </option>
            ))}
          </select>
        </label>
      );
    }
    case 'RadioButtonsGroup':
    case 'CheckboxGroup': {
      const multi = c.type === 'CheckboxGroup';
      const chosen = multi ? (Array.isArray(value) ? (value as string[]) : []) : [];
      const maxSel = typeof c['max-selected-items'] === 'number' ? c['max-selected-items'] : Infinity;
      return (
        <fieldset className="waf-group" disabled={disabled}>
          {c.label !== undefined && <legend className="waf-label">{label()}</legend>}
          {c.description !== undefined && <p className="waf-helper">{t('description')}</p>}
          {options(c, ctx).map((o) => {
            const on = multi ? chosen.includes(o.id) : value === o.id;
            return (
              <label key={o.id} className={`waf-option${c['media-size'] === 'large' ? ' large' : ''}`}>
                {o.image && <img src={imgSrc(o.image)} alt={o['alt-text'] ?? ''} />}
                <span className="grow">
                  <span className="waf-opt-title">{o.title}</span>
                  {o.description && <span className="waf-opt-desc">{o.description}</span>}
                  {o.metadata && <span className="waf-opt-meta">{o.metadata}</span>}
                </span>
                <input
                  type={multi ? 'checkbox' : 'radio'}
                  name={c.name}
                  value={o.id}
                  checked={on}
                  disabled={o.enabled === false || (multi && !on && chosen.length >= maxSel)}
                  onChange={() => {
                    change(multi ? (on ? chosen.filter((x) => x !== o.id) : [...chosen, o.id]) : o.id);
                    select(o, !on || !multi);
                  }}
                />
              </label>
            );
          })}
        </fieldset>
      );
    }
    case 'ChipsSelector': {
      const chosen = Array.isArray(value) ? (value as string[]) : [];
      const maxSel = typeof c['max-selected-items'] === 'number' ? c['max-selected-items'] : Infinity;
      return (
        <fieldset className="waf-group" disabled={disabled}>
          <legend className="waf-label">{label()}</legend>
          {c.description !== undefined && <p className="waf-helper">{t('description')}</p>}
          <div className="waf-chips">
            {options(c, ctx).map((o) => {
              const on = chosen.includes(o.id);
              return (
                <button
                  key={o.id}
                  type="button"
                  className={on ? 'waf-chip on' : 'waf-chip'}
                  aria-pressed={on}
                  disabled={o.enabled === false || (!on && chosen.length >= maxSel)}
                  onClick={() => {
                    change(on ? chosen.filter((x) => x !== o.id) : [...chosen, o.id]);
                    select(o, !on);
                  }}
                >
                  {o.title}
                </button>
              );
            })}
          </div>
        </fieldset>
      );
    }
    case 'DatePicker':
      return (
        <label className="waf-field">
          <span className="waf-label">{label()}</span>
          <input
            type="date"
            name={c.name}
            disabled={disabled}
            min={dateInput(resolve(c['min-date'], ctx))}
            max={dateInput(resolve(c['max-date'], ctx))}
            value={dateInput(value) ?? ''}
            onChange={(e) => {
              change(dateStyle === 'ms' && e.target.value ? String(Date.parse(`${e.target.value}T00:00:00`)) : e.target.value);
              if (c['on-select-action']) act(c['on-select-action']);
            }}
          />
          {helper}
        </label>
      );
    case 'CalendarPicker': {
      const range = c.mode === 'range';
      const v = (value ?? {}) as Record<string, string>;
      const labels = resolve(c.label, ctx) as unknown;
      const lab = (k: string) => (labels && typeof labels === 'object' ? textOf((labels as Record<string, unknown>)[k], ctx) : textOf(labels ?? '', ctx));
      const common = { min: dateInput(resolve(c['min-date'], ctx)), max: dateInput(resolve(c['max-date'], ctx)), disabled };
      return (
        <div className="waf-calendar">
          {range && c.title !== undefined && <div className="waf-subheading">{t('title')}</div>}
          {range && c.description !== undefined && <p className="waf-helper">{t('description')}</p>}
          {range ? (
            (['start-date', 'end-date'] as const).map((k) => (
              <label key={k} className="waf-field">
                <span className="waf-label">{lab(k)}</span>
                <input type="date" name={`${c.name}.${k}`} {...common} value={v[k] ?? ''} onChange={(e) => change({ ...v, [k]: e.target.value })} />
              </label>
            ))
          ) : (
            <label className="waf-field">
              <span className="waf-label">{lab('start-date')}</span>
              <input type="date" name={c.name} {...common} value={typeof value === 'string' ? value : ''} onChange={(e) => change(e.target.value)} />
            </label>
          )}
          {helper}
        </div>
      );
    }
    case 'OptIn':
      return (
        <label className="waf-optin">
          <input type="checkbox" name={c.name} checked={value === true} onChange={(e) => change(e.target.checked)} />
          <span>
            {label()}{' '}
            {!!c['on-click-action'] && (
              <button type="button" className="link" onClick={(e) => (e.preventDefault(), act(c['on-click-action']))}>
                Read more
              </button>
            )}
          </span>
        </label>
      );
    case 'EmbeddedLink':
      return (
        <button type="button" className="link waf-link" onClick={() => act(c['on-click-action'])}>
          {t('text')}
        </button>
      );
    case 'Image': {
      const src = textOf(c.src ?? '', ctx);
      const w = typeof c.width === 'number' ? c.width : undefined;
      const h = typeof c.height === 'number' ? c.height : undefined;
      return (
        <img
          className="waf-image"
          src={imgSrc(src)}
          alt={t('alt-text')}
          style={{ width: w, height: h, objectFit: c['scale-type'] === 'cover' ? 'cover' : 'contain', aspectRatio: typeof c['aspect-ratio'] === 'number' ? String(c['aspect-ratio']) : undefined }}
        />
      );
    }
    case 'ImageCarousel': {
      const imgs = (Array.isArray(c.images) ? c.images : []) as { src?: string; 'alt-text'?: string }[];
      return (
        <div className={c['aspect-ratio'] === '16:9' ? 'waf-carousel wide' : 'waf-carousel'}>
          {imgs.map((im, i) => (
            <img key={i} src={imgSrc(im.src ?? '')} alt={im['alt-text'] ?? ''} style={{ objectFit: c['scale-type'] === 'cover' ? 'cover' : 'contain' }} />
          ))}
        </div>
      );
    }
    case 'PhotoPicker':
    case 'DocumentPicker': {
      const files = Array.isArray(value) ? (value as { file_name: string }[]) : [];
      return (
        <label className="waf-field waf-picker">
          <span className="waf-label">{label()}</span>
          {c.description !== undefined && <span className="waf-helper">{t('description')}</span>}
          <input
            type="file"
            name={c.name}
            multiple
            accept={c.type === 'PhotoPicker' ? 'image/*' : Array.isArray(c['allowed-mime-types']) ? (c['allowed-mime-types'] as string[]).join(',') : undefined}
            onChange={(e) => change(Array.from(e.target.files ?? []).map((f) => ({ file_name: f.name, mime_type: f.type })))}
          />
          {files.length > 0 && <span className="waf-helper">{files.map((f) => f.file_name).join(', ')}</span>}
        </label>
      );
    }
    case 'NavigationList': {
      const items = (Array.isArray(resolve(c['list-items'], ctx)) ? resolve(c['list-items'], ctx) : []) as Record<string, unknown>[];
      return (
        <div className="waf-navlist">
          {c.label !== undefined && <div className="waf-subheading">{t('label')}</div>}
          {c.description !== undefined && <p className="waf-helper">{t('description')}</p>}
          {items.map((it, i) => {
            const main = (it['main-content'] ?? {}) as Record<string, string>;
            const end = (it.end ?? {}) as Record<string, string>;
            const startImg = (it.start as Record<string, string> | undefined)?.image;
            return (
              <button key={String(it.id ?? i)} type="button" className="waf-navitem" onClick={() => act(it['on-click-action'] ?? c['on-click-action'])}>
                {startImg && <img src={imgSrc(startImg)} alt="" />}
                <span className="grow">
                  <span className="waf-opt-title">{main.title}</span>
                  {main.description && <span className="waf-opt-desc">{main.description}</span>}
                  {main.metadata && <span className="waf-opt-meta">{main.metadata}</span>}
                  {typeof it.badge === 'string' && <span className="waf-badge">{it.badge}</span>}
                </span>
                {(end.title || end.description) && (
                  <span className="waf-end">
                    <span>{end.title}</span>
                    <span className="small muted">{end.description}</span>
                  </span>
                )}
                <span aria-hidden>›</span>
              </button>
            );
          })}
        </div>
      );
    }
  }
  return <div className="waf-unknown small">Unsupported component {c.type}</div>;
}

/** dateInput turns a flow date value (YYYY-MM-DD, or a ms timestamp before 5.0) into an <input type=date> value. */
function dateInput(v: unknown): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const s = String(v);
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
  if (/^\d{9,}$/.test(s)) {
    const d = new Date(Number(s));
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }
  return undefined;
}

/** Markdown renders the subset WhatsApp Flows support (bold, italic, strike, links, lists; headings, tables and images in RichText). */
export function Markdown({ src, rich }: { src: string; rich?: boolean }) {
  const lines = src.split('\n');
  const out: ReactNode[] = [];
  let list: { ordered: boolean; items: string[] } | null = null;
  let table: string[][] | null = null;
  const flush = () => {
    if (list) {
      const items = list.items.map((x, i) => <li key={i}>{inline(x)}</li>);
      out.push(list.ordered ? <ol key={out.length}>{items}</ol> : <ul key={out.length}>{items}</ul>);
      list = null;
    }
    if (table) {
      const [head, ...rows] = table.filter((r) => !r.every((cell) => /^:?-+:?$/.test(cell.trim())));
      out.push(
        <table key={out.length} className="waf-table">
          <thead>
            <tr>{head?.map((h, i) => <th key={i}>{inline(h.trim())}</th>)}</tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>{r.map((cell, j) => <td key={j}>{inline(cell.trim())}</td>)}</tr>
            ))}
          </tbody>
        </table>,
      );
      table = null;
    }
  };
  for (const line of lines) {
    const ul = /^\s*[-*+]\s+(.*)$/.exec(line);
    const ol = /^\s*\d+\.\s+(.*)$/.exec(line);
    if (ul || ol) {
      if (table || (list && list.ordered !== !!ol)) flush();
      list ??= { ordered: !!ol, items: [] };
      list.items.push((ul ?? ol)![1]);
      continue;
    }
    if (rich && /^\s*\|.*\|\s*$/.test(line)) {
      if (list) flush();
      table ??= [];
      table.push(line.trim().slice(1, -1).split('|'));
      continue;
    }
    flush();
    const h = rich ? /^(#{1,6})\s+(.*)$/.exec(line) : null;
    if (h) out.push(h[1].length === 1 ? <h2 key={out.length} className="waf-heading">{inline(h[2])}</h2> : h[1].length === 2 ? <h3 key={out.length} className="waf-subheading">{inline(h[2])}</h3> : <p key={out.length}>{inline(h[2])}</p>);
    else if (line.trim()) out.push(<p key={out.length}>{inline(line)}</p>);
  }
  flush();
  return <>{out}</>;
}

function inline(s: string): ReactNode[] {
  const out: ReactNode[] = [];
  const re = /!\[([^\]]*)\]\((data:[^)]+)\)|\[([^\]]+)\]\(([^)]+)\)|\*\*([^*]+)\*\*|\*([^*]+)\*|_([^_]+)_|~~([^~]+)~~/g;
  let last = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    if (m.index > last) out.push(s.slice(last, m.index));
    const k = out.length;
    if (m[2]) out.push(<img key={k} src={m[2]} alt={m[1]} className="waf-inline-img" />);
    else if (m[3]) out.push(<a key={k} href={m[4]} target="_blank" rel="noreferrer">{m[3]}</a>);
    else if (m[5]) out.push(<b key={k}>{m[5]}</b>);
    else if (m[6] ?? m[7]) out.push(<i key={k}>{m[6] ?? m[7]}</i>);
    else if (m[8]) out.push(<s key={k}>{m[8]}</s>);
    last = m.index + m[0].length;
  }
  if (last < s.length) out.push(s.slice(last));
  return out;
}
