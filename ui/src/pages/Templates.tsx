import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';
import { limits, queryLimits } from '../api/limits';
import { templates as templatesApi, type MessageTemplate, type TemplateButton } from '../api/templates';
import { canEdit, useMe } from '../lib/auth';
import { Link, useTitle } from '../lib/router';
import { Badge, Dialog, Empty, ErrorBanner, Pager, timeAgo, useLoad, usePager, useToast } from '../components/ui';
import {
  TEMPLATE_LIMITS as L,
  canAddButton,
  checkTemplate,
  component,
  fillPlaceholders,
  normalizeName,
  visibleButtons,
  withComponent,
  type ButtonType,
} from '../templates/preview';

export default function Templates() {
  useTitle('Templates');
  const me = useMe();
  const toast = useToast();
  const pager = usePager();
  const [search, setSearch] = useState('');
  const [editing, setEditing] = useState<MessageTemplate | null>(null);
  const [error, setError] = useState<unknown>(null);
  const list = useLoad(() => templatesApi.list(pager.cursor || undefined, search.trim() || undefined), [pager.cursor, search]);
  // Templates belong to a WhatsApp Business account: without a WhatsApp
  // channel there is nowhere to submit one, so say so before the form.
  const channels = useLoad((signal) => api.get('/channels/', { signal }), []);
  const noWhatsApp = !!channels.data && !(channels.data.results ?? []).some((c) => c.type === 'whatsapp');
  const missing = list.error instanceof ApiError && (list.error.status === 404 || list.error.status === 405);
  const rows = list.data?.results ?? [];
  const sync = async () => {
    try {
      await templatesApi.sync();
      toast('Synced with Meta');
      list.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>Message templates</h1>
        <div className="spacer" />
        {canEdit(me) && (
          <>
            <button type="button" onClick={() => void sync()} disabled={noWhatsApp} title={noWhatsApp ? 'Connect a WhatsApp channel first' : undefined}>
              Sync from Meta
            </button>
            <button
              type="button"
              className="primary"
              onClick={() => setEditing({ name: '', language: 'en_US', category: 'UTILITY', components: [{ type: 'BODY', text: '' }] })}
            >
              New template
            </button>
          </>
        )}
      </div>
      <p className="muted">WhatsApp only lets a business start a conversation (or write after 24 hours of silence) with a template Meta approved.</p>
      {noWhatsApp && (
        <div className="notice" role="note">
          <strong>Connect a WhatsApp channel first.</strong> Templates are submitted to Meta for the WhatsApp Business account of a channel; this project has none yet.{' '}
          <Link to="/channels">Add a WhatsApp number on the Channels page</Link> (or start <code>parley serve --sandbox</code> for a practice one), then create or sync templates here. You can draft and preview one meanwhile.
        </div>
      )}
      <div className="toolbar">
        <input type="search" aria-label="Search templates" maxLength={queryLimits['list-templates'].search} placeholder="Search by name or text…" value={search} onChange={(e) => { setSearch(e.target.value); pager.reset(); }} />
      </div>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {missing ? (
        <Empty title="The templates API is not available on this server yet">
          <p>You can still draft a template and preview it; saving needs <code>/templates/</code>.</p>
        </Empty>
      ) : (
        <ErrorBanner error={list.error} />
      )}
      {!list.loading && !list.error && rows.length === 0 && search.trim() !== '' && <Empty title={`No template matches “${search.trim()}”`} />}
      {!list.loading && !list.error && rows.length === 0 && search.trim() === '' && (
        <Empty title="No templates yet">
          <p>Create one here and submit it to Meta for review, or connect a WhatsApp number and press “Sync from Meta” to import the ones you already have.</p>
        </Empty>
      )}
      {rows.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Language</th>
              <th>Category</th>
              <th>Meta status</th>
              <th>Updated</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {rows.map((t) => (
              <tr key={t.id ?? `${t.name}|${t.language}`}>
                <td>
                  {t.name}
                  <div className="muted small">{(component(t, 'BODY')?.text ?? '').slice(0, 80)}</div>
                </td>
                <td>{t.language}</td>
                <td>{t.category}</td>
                <td>
                  <Badge kind={t.status ?? ''}>{t.status ?? 'not submitted'}</Badge>
                  {/* Meta sends the reason NONE with approvals: not a reason to show. */}
                  {t.reason && t.reason !== 'NONE' && <div className="fail-reason">{t.reason}</div>}
                  {t.quality && !['UNKNOWN', 'NONE'].includes(t.quality) && <div className={`quality q-${t.quality.toLowerCase()}`}>quality {t.quality.toLowerCase()}</div>}
                </td>
                <td className="small">{timeAgo(t.updated_at)}</td>
                <td className="actions">
                  {canEdit(me) && (
                    <button type="button" onClick={() => setEditing(t)} aria-label={`Edit ${t.name}`}>
                      Edit
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pager={pager} nextCursor={list.data?.next_cursor} />
      {editing && (
        <TemplateEditor
          initial={editing}
          noWhatsApp={noWhatsApp}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            toast('Template saved');
            list.reload();
          }}
        />
      )}
    </div>
  );
}

function TemplateEditor({ initial, noWhatsApp, onClose, onSaved }: { initial: MessageTemplate; noWhatsApp: boolean; onClose: () => void; onSaved: () => void }) {
  const [t, setT] = useState<MessageTemplate>(initial);
  const [examples, setExamples] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const header = component(t, 'HEADER');
  const body = component(t, 'BODY');
  const footer = component(t, 'FOOTER');
  const buttons = component(t, 'BUTTONS')?.buttons ?? [];
  const bodyVars = [...new Set([...(body?.text ?? '').matchAll(/\{\{\s*(\d+)\s*\}\}/g)].map((m) => m[1]))];
  const problems = checkTemplate(t);
  const setButtons = (bs: TemplateButton[]) => setT(withComponent(t, { type: 'BUTTONS', buttons: bs }, 'BUTTONS'));
  const add = (type: ButtonType) => setButtons([...buttons, type === 'URL' ? { type, text: '', url: 'https://' } : type === 'PHONE_NUMBER' ? { type, text: '', phone_number: '' } : { type, text: '' }]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const withExamples = bodyVars.length
        ? withComponent(t, { ...body!, example: { body_text: [bodyVars.map((_, i) => examples[i] || `example ${i + 1}`)] } }, 'BODY')
        : t;
      if (initial.id) await templatesApi.update(initial.id, withExamples);
      else await templatesApi.create(withExamples);
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const addButtons: [ButtonType, string][] = [
    ['QUICK_REPLY', 'Add quick reply'],
    ['URL', 'Add URL button'],
    ['PHONE_NUMBER', 'Add phone button'],
  ];
  return (
    <Dialog title={initial.id ? `Edit ${initial.name}` : 'New template'} onClose={onClose} wide>
      <form onSubmit={submit} className="tpl-editor">
        <div>
          {noWhatsApp && !initial.id && (
            <div className="notice" role="note">
              <strong>Connect a WhatsApp channel first.</strong> Meta reviews templates for a WhatsApp Business account, and this project has no WhatsApp channel: you can draft and preview here, but submitting needs one (<Link to="/channels">Channels</Link>).
            </div>
          )}
          <ErrorBanner error={error} />
          <div className="row gap">
            <div className="field grow">
              <label htmlFor="t-name">Name</label>
              <input id="t-name" value={t.name} maxLength={L.name} onChange={(e) => setT({ ...t, name: normalizeName(e.target.value) })} disabled={!!initial.id} />
            </div>
            <div className="field">
              <label htmlFor="t-lang">Language</label>
              <input id="t-lang" maxLength={limits.TemplateCreateInputBody.language} value={t.language} size={6} onChange={(e) => setT({ ...t, language: e.target.value })} disabled={!!initial.id} />
            </div>
            <div className="field">
              <label htmlFor="t-cat">Category</label>
              <select id="t-cat" value={t.category} onChange={(e) => setT({ ...t, category: e.target.value })}>
                <option value="UTILITY">Utility</option>
                <option value="MARKETING">Marketing</option>
                <option value="AUTHENTICATION">Authentication</option>
              </select>
            </div>
          </div>
          <div className="field">
            <label htmlFor="t-header">Header (optional text)</label>
            <input id="t-header" value={header?.text ?? ''} maxLength={L.header} onChange={(e) => setT(withComponent(t, { type: 'HEADER', format: 'TEXT', text: e.target.value }, 'HEADER'))} />
            <span className="counter">{(header?.text ?? '').length}/{L.header}</span>
          </div>
          <div className="field">
            <label htmlFor="t-body">Body</label>
            <textarea id="t-body" rows={4} value={body?.text ?? ''} maxLength={L.body} onChange={(e) => setT(withComponent(t, { type: 'BODY', text: e.target.value }, 'BODY'))} />
            <span className="counter">{(body?.text ?? '').length}/{L.body}</span>
            <p className="hint">Use {'{{1}}'}, {'{{2}}'}… for values filled in when sending; Meta reviews them with the examples below.</p>
          </div>
          {bodyVars.map((v, i) => (
            <div className="field" key={v}>
              <label htmlFor={`t-ex-${v}`}>Example for {`{{${v}}}`}</label>
              <input id={`t-ex-${v}`} value={examples[i] ?? ''} onChange={(e) => setExamples((x) => Object.assign([...x], { [i]: e.target.value }))} />
            </div>
          ))}
          <div className="field">
            <label htmlFor="t-footer">Footer (optional)</label>
            <input id="t-footer" value={footer?.text ?? ''} maxLength={L.footer} onChange={(e) => setT(withComponent(t, { type: 'FOOTER', text: e.target.value }, 'FOOTER'))} />
            <span className="counter">{(footer?.text ?? '').length}/{L.footer}</span>
          </div>
          <fieldset className="group">
            <legend>
              Buttons <span className="muted small">({buttons.length}/{L.buttons})</span>
            </legend>
            {buttons.map((b, i) => (
              <div className="array-item" key={i}>
                <span className="small muted">{b.type === 'QUICK_REPLY' ? 'Quick reply' : b.type === 'URL' ? 'URL' : 'Phone'}</span>
                <div className="grow">
                  <input aria-label={`Button ${i + 1} text`} value={b.text ?? ''} maxLength={L.buttonText} onChange={(e) => setButtons(buttons.map((x, j) => (j === i ? { ...x, text: e.target.value } : x)))} />
                  <span className="counter">{(b.text ?? '').length}/{L.buttonText}</span>
                  {b.type === 'URL' && <input aria-label={`Button ${i + 1} URL`} value={b.url ?? ''} maxLength={L.url} onChange={(e) => setButtons(buttons.map((x, j) => (j === i ? { ...x, url: e.target.value } : x)))} />}
                  {b.type === 'PHONE_NUMBER' && (
                    <input aria-label={`Button ${i + 1} phone number`} value={b.phone_number ?? ''} maxLength={L.phone} onChange={(e) => setButtons(buttons.map((x, j) => (j === i ? { ...x, phone_number: e.target.value } : x)))} />
                  )}
                </div>
                <button type="button" className="icon" aria-label={`Remove button ${i + 1}`} onClick={() => setButtons(buttons.filter((_, j) => j !== i))}>
                  ×
                </button>
              </div>
            ))}
            <div className="row gap">
              {addButtons.map(([type, label]) => {
                const c = canAddButton(buttons, type);
                return (
                  <button key={type} type="button" disabled={!c.ok} title={c.reason} onClick={() => add(type)}>
                    {label}
                  </button>
                );
              })}
            </div>
          </fieldset>
          {problems.length > 0 && (
            <ul className="problem-list compact" aria-label="Template problems">
              {problems.map((p, i) => (
                <li key={i} className="error">
                  {p.message}
                </li>
              ))}
            </ul>
          )}
          <div className="dialog-actions">
            <button type="button" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy || problems.length > 0 || (noWhatsApp && !initial.id)} title={noWhatsApp && !initial.id ? 'Connect a WhatsApp channel first' : undefined}>
              {initial.id ? 'Save changes' : 'Create and submit to Meta'}
            </button>
          </div>
        </div>
        <figure className="wa-preview" aria-label="WhatsApp preview" role="figure">
          <div className="bubble out">
            {header?.text && <div className="wa-header">{header.text}</div>}
            <div className="btext">{fillPlaceholders(body?.text ?? '', examples) || <span className="muted">Your message…</span>}</div>
            {footer?.text && <div className="wa-footer">{footer.text}</div>}
            {buttons.length > 0 && (
              <div className="bbuttons">
                {visibleButtons(buttons).map((b, i) => (
                  <button type="button" key={i} tabIndex={-1}>
                    {b.type === 'URL' ? '↗ ' : b.type === 'PHONE_NUMBER' ? '✆ ' : b.type === 'ALL' ? '☰ ' : ''}
                    {b.text}
                  </button>
                ))}
              </div>
            )}
          </div>
          <figcaption className="muted small">WhatsApp shows at most {L.shownButtons} buttons; with more, the first 2 and “See all options”.</figcaption>
        </figure>
      </form>
    </Dialog>
  );
}
