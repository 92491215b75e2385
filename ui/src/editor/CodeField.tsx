// The code node's script field: a monospaced textarea that completes the
// names a script has (vars, contact, trigger, db, http and their members)
// for the word before the caret; Tab or a click inserts the suggestion.
import { useRef, useState } from 'react';

/** What a code step's script can name, with what each is. */
export const CODE_NAMES: { name: string; doc: string }[] = [
  { name: 'vars', doc: "the session's variables" },
  { name: 'contact', doc: 'the contact: id, name, phone, language, fields, tags' },
  { name: 'contact.name', doc: "the contact's name" },
  { name: 'contact.phone', doc: "the contact's phone" },
  { name: 'contact.fields', doc: "the contact's fields" },
  { name: 'contact.tags', doc: "the contact's tags" },
  { name: 'trigger', doc: 'what started this step: input, row, flow' },
  { name: 'trigger.input.text', doc: 'the last message the contact sent' },
  { name: 'trigger.row', doc: "the campaign's row" },
  { name: 'trigger.flow', doc: 'the flow: id, name, revision' },
  { name: 'db', doc: "the project's database" },
  { name: 'db.query(sql, params)', doc: 'run one SQL statement with bound params; returns rows' },
  { name: 'db.insert(table, row)', doc: 'insert a row; returns it as stored' },
  { name: 'http', doc: 'HTTP calls through the SSRF guard' },
  { name: 'http.request({url, method, headers, body})', doc: 'returns {status, body, json}' },
  { name: 'return { variables: {}, exit: "next" };', doc: 'set variables and choose an exit' },
];

/** The suggestions for the dotted word that ends at pos in text. */
export function completions(text: string, pos: number): { word: string; items: typeof CODE_NAMES } {
  const m = /[A-Za-z_][\w.]*$/.exec(text.slice(0, pos));
  const word = m ? m[0] : '';
  if (!word) return { word, items: [] };
  const items = CODE_NAMES.filter((c) => c.name.startsWith(word) && c.name !== word);
  return { word, items: items.slice(0, 8) };
}

export function CodeField({ id, describedBy, value, maxLength, onChange }: { id: string; describedBy?: string; value: string; maxLength?: number; onChange: (v: string) => void }) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const [pos, setPos] = useState(-1);
  const { word, items } = pos >= 0 ? completions(value, pos) : { word: '', items: [] };
  const accept = (name: string) => {
    const before = value.slice(0, pos - word.length);
    const next = before + name + value.slice(pos);
    onChange(next);
    const caret = before.length + name.length;
    setPos(-1);
    requestAnimationFrame(() => {
      ref.current?.focus();
      ref.current?.setSelectionRange(caret, caret);
    });
  };
  return (
    <div className="code-field-wrap">
      <textarea
        ref={ref}
        id={id}
        aria-describedby={describedBy}
        className="mono code-field"
        rows={10}
        spellCheck={false}
        autoCapitalize="off"
        autoCorrect="off"
        value={value}
        maxLength={maxLength}
        onChange={(e) => {
          onChange(e.target.value);
          setPos(e.target.selectionStart);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Tab' && items.length > 0) {
            e.preventDefault();
            accept(items[0].name);
          } else if (e.key === 'Escape') setPos(-1);
        }}
        onBlur={() => setTimeout(() => setPos(-1), 150)}
      />
      {items.length > 0 && (
        <ul className="completions" role="listbox" aria-label="Completions">
          {items.map((c, i) => (
            <li key={c.name} role="option" aria-selected={i === 0}>
              <button type="button" onMouseDown={(e) => e.preventDefault()} onClick={() => accept(c.name)}>
                <code>{c.name}</code> <span className="muted small">{c.doc}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <p className="hint small">Names: vars, contact, trigger, db.query, db.insert, http.request — Tab completes.</p>
    </div>
  );
}
