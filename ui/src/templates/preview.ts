// WhatsApp message-template rules for the editor and its live preview.
// The limits are Meta's (the same as the server's internal/template checks);
// the preview follows how WhatsApp renders a template bubble.
import type { MessageTemplate, TemplateButton, TemplateComponent } from '../api/templates';

export const TEMPLATE_LIMITS = {
  name: 512,
  header: 60,
  body: 1024,
  footer: 60,
  buttons: 10,
  quickReplies: 10,
  urlButtons: 2,
  phoneButtons: 1,
  buttonText: 25,
  url: 2000,
  phone: 20,
  /** WhatsApp shows at most this many buttons in the bubble; more collapse into "See all options". */
  shownButtons: 3,
} as const;

export type ButtonType = 'QUICK_REPLY' | 'URL' | 'PHONE_NUMBER';

/** Template names are lower case with underscores (Meta's rule). */
export function normalizeName(s: string): string {
  return s
    .toLowerCase()
    .replace(/[\s-]+/g, '_')
    .replace(/[^a-z0-9_]/g, '')
    .slice(0, TEMPLATE_LIMITS.name);
}

/** Whether one more button of this type is allowed, and why not. */
export function canAddButton(buttons: TemplateButton[], type: ButtonType): { ok: boolean; reason?: string } {
  if (buttons.length >= TEMPLATE_LIMITS.buttons) return { ok: false, reason: `A template has at most ${TEMPLATE_LIMITS.buttons} buttons.` };
  const n = buttons.filter((b) => b.type === type).length;
  if (type === 'QUICK_REPLY' && n >= TEMPLATE_LIMITS.quickReplies) return { ok: false, reason: `At most ${TEMPLATE_LIMITS.quickReplies} quick replies.` };
  if (type === 'URL' && n >= TEMPLATE_LIMITS.urlButtons) return { ok: false, reason: `At most ${TEMPLATE_LIMITS.urlButtons} URL buttons.` };
  if (type === 'PHONE_NUMBER' && n >= TEMPLATE_LIMITS.phoneButtons) return { ok: false, reason: 'At most 1 phone-number button.' };
  return { ok: true };
}

/** Meta wants quick replies grouped together (before or after the call-to-action buttons). */
export function sortButtons(buttons: TemplateButton[]): TemplateButton[] {
  const qr = buttons.filter((b) => b.type === 'QUICK_REPLY');
  const other = buttons.filter((b) => b.type !== 'QUICK_REPLY');
  return buttons[0]?.type === 'QUICK_REPLY' || !other.length ? [...qr, ...other] : [...other, ...qr];
}

/** The buttons shown in the bubble: all up to 3; beyond that the first 2 and "See all options". */
export function visibleButtons(buttons: TemplateButton[]): { text: string; type: string }[] {
  const shown = buttons.map((b) => ({ text: b.text || '…', type: b.type }));
  if (shown.length <= TEMPLATE_LIMITS.shownButtons) return shown;
  return [...shown.slice(0, TEMPLATE_LIMITS.shownButtons - 1), { text: 'See all options', type: 'ALL' }];
}

/** Text with its {{n}} placeholders replaced by the examples given (kept as-is otherwise). */
export function fillPlaceholders(text: string, examples: string[]): string {
  return text.replace(/\{\{\s*(\w+)\s*\}\}/g, (all, k: string) => {
    const i = Number(k) - 1;
    return Number.isInteger(i) && examples[i] ? examples[i] : all;
  });
}

export interface TemplateProblem {
  pointer: string;
  message: string;
}

/** The problems Meta would reject the template for, checked as you type. */
export function checkTemplate(t: MessageTemplate): TemplateProblem[] {
  const out: TemplateProblem[] = [];
  if (!t.name) out.push({ pointer: '/name', message: 'Give the template a name.' });
  else if (!/^[a-z0-9_]+$/.test(t.name)) out.push({ pointer: '/name', message: 'Names use lower-case letters, digits and underscores.' });
  if (!t.language) out.push({ pointer: '/language', message: 'Choose a language.' });
  t.components.forEach((c, i) => {
    const p = `/components/${i}`;
    const len = (c.text ?? '').length;
    if (c.type === 'HEADER' && (c.format ?? 'TEXT') === 'TEXT' && len > TEMPLATE_LIMITS.header)
      out.push({ pointer: `${p}/text`, message: `The header is ${len} characters; at most ${TEMPLATE_LIMITS.header}.` });
    if (c.type === 'BODY') {
      if (!len) out.push({ pointer: `${p}/text`, message: 'The body is required.' });
      if (len > TEMPLATE_LIMITS.body) out.push({ pointer: `${p}/text`, message: `The body is ${len} characters; at most ${TEMPLATE_LIMITS.body}.` });
      const vars = [...(c.text ?? '').matchAll(/\{\{\s*(\d+)\s*\}\}/g)].map((m) => Number(m[1]));
      const uniq = [...new Set(vars)].sort((a, b) => a - b);
      if (uniq.some((v, j) => v !== j + 1)) out.push({ pointer: `${p}/text`, message: 'Number the parameters {{1}}, {{2}}… in order, without gaps.' });
    }
    if (c.type === 'FOOTER' && len > TEMPLATE_LIMITS.footer) out.push({ pointer: `${p}/text`, message: `The footer is ${len} characters; at most ${TEMPLATE_LIMITS.footer}.` });
    if (c.type === 'BUTTONS') {
      const bs = c.buttons ?? [];
      if (bs.length > TEMPLATE_LIMITS.buttons) out.push({ pointer: `${p}/buttons`, message: `At most ${TEMPLATE_LIMITS.buttons} buttons.` });
      bs.forEach((b, j) => {
        if (!b.text) out.push({ pointer: `${p}/buttons/${j}/text`, message: `Button ${j + 1} needs a text.` });
        else if (b.text.length > TEMPLATE_LIMITS.buttonText) out.push({ pointer: `${p}/buttons/${j}/text`, message: `Button ${j + 1} is over ${TEMPLATE_LIMITS.buttonText} characters.` });
        if (b.type === 'URL' && !/^https?:\/\//.test(b.url ?? '')) out.push({ pointer: `${p}/buttons/${j}/url`, message: `Button ${j + 1} needs an http(s) URL.` });
        if (b.type === 'PHONE_NUMBER' && !/^\+?[0-9]{4,19}$/.test(b.phone_number ?? '')) out.push({ pointer: `${p}/buttons/${j}/phone_number`, message: `Button ${j + 1} needs a phone number (digits, optional +).` });
      });
      const lower = bs.map((b) => (b.text ?? '').toLowerCase()).filter(Boolean);
      if (new Set(lower).size !== lower.length) out.push({ pointer: `${p}/buttons`, message: 'Two buttons have the same text.' });
    }
  });
  return out;
}

export function component(t: MessageTemplate, type: string): TemplateComponent | undefined {
  return t.components.find((c) => c.type === type);
}

/** Sets (or removes, when empty) one component, keeping Meta's order HEADER, BODY, FOOTER, BUTTONS. */
export function withComponent(t: MessageTemplate, c: TemplateComponent | null, type: string): MessageTemplate {
  const order = ['HEADER', 'BODY', 'FOOTER', 'BUTTONS'];
  const rest = t.components.filter((x) => x.type !== type);
  const keep = c && (c.text || (c.buttons && c.buttons.length) || c.type === 'BODY') ? [...rest, c] : rest;
  return { ...t, components: keep.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type)) };
}
