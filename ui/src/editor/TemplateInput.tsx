import { useId, useRef, useState } from 'react';
import { applyCompletion, completionContext, suggest } from './graph';

/** A text field for `{{ }}` templates, with variable completion as you type `{{`. */
export function TemplateInput({
  id,
  value,
  onChange,
  variables,
  multiline = true,
  maxLength,
  ariaLabel,
  describedBy,
}: {
  id: string;
  value: string;
  onChange: (v: string) => void;
  variables: string[];
  multiline?: boolean;
  maxLength?: number;
  ariaLabel?: string;
  /** Ids of the hint or error that describe the field. */
  describedBy?: string;
}) {
  const ref = useRef<HTMLTextAreaElement & HTMLInputElement>(null);
  const [items, setItems] = useState<string[]>([]);
  const [active, setActive] = useState(0);
  const listId = useId();

  const refresh = (text: string, caret: number) => {
    const ctx = completionContext(text, caret);
    setItems(ctx ? suggest(ctx.prefix, variables) : []);
    setActive(0);
  };
  const pick = (name: string) => {
    const el = ref.current;
    if (!el) return;
    const caret = el.selectionStart ?? value.length;
    const ctx = completionContext(value, caret);
    if (!ctx) return;
    const r = applyCompletion(value, caret, ctx, name);
    onChange(r.text);
    setItems([]);
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(r.caret, r.caret);
    });
  };
  const props = {
    id,
    ref,
    value,
    maxLength,
    'aria-label': ariaLabel,
    'aria-describedby': describedBy,
    'aria-autocomplete': 'list' as const,
    'aria-controls': items.length ? listId : undefined,
    'aria-expanded': items.length > 0,
    role: 'combobox',
    onChange: (e: React.ChangeEvent<HTMLTextAreaElement | HTMLInputElement>) => {
      onChange(e.target.value);
      refresh(e.target.value, e.target.selectionStart ?? e.target.value.length);
    },
    onKeyDown: (e: React.KeyboardEvent) => {
      if (!items.length) return;
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        setActive((a) => (a + 1) % items.length);
      } else if (e.key === 'ArrowUp') {
        e.preventDefault();
        setActive((a) => (a - 1 + items.length) % items.length);
      } else if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        pick(items[active]);
      } else if (e.key === 'Escape') setItems([]);
    },
    onBlur: () => setTimeout(() => setItems([]), 150),
  };
  return (
    <div className="tinput">
      {multiline ? <textarea rows={3} {...props} /> : <input {...props} />}
      {items.length > 0 && (
        <ul className="completions" role="listbox" id={listId} aria-label="Variables">
          {items.map((n, i) => (
            <li key={n} role="option" aria-selected={i === active} onMouseDown={(e) => { e.preventDefault(); pick(n); }}>
              {n}
            </li>
          ))}
        </ul>
      )}
      {maxLength !== undefined && (
        <span className={`counter ${value.length >= maxLength ? 'at-limit' : ''}`}>
          {value.length}/{maxLength}
        </span>
      )}
    </div>
  );
}
