import { describe, expect, it } from 'vitest';
import { canAddButton, checkTemplate, fillPlaceholders, normalizeName, visibleButtons, withComponent } from './preview';
import type { MessageTemplate, TemplateButton } from '../api/templates';

const qr = (text: string): TemplateButton => ({ type: 'QUICK_REPLY', text });
const base: MessageTemplate = { name: 'order_update', language: 'en_US', category: 'UTILITY', components: [{ type: 'BODY', text: 'Hi {{1}}, order {{2}} shipped.' }] };

describe('template preview', () => {
  it('shows up to 3 buttons, then 2 and "See all options"', () => {
    expect(visibleButtons([qr('A'), qr('B'), qr('C')]).map((b) => b.text)).toEqual(['A', 'B', 'C']);
    expect(visibleButtons([qr('A'), qr('B'), qr('C'), qr('D')]).map((b) => b.text)).toEqual(['A', 'B', 'See all options']);
    expect(visibleButtons([])).toEqual([]);
  });
  it('fills placeholders with examples', () => {
    expect(fillPlaceholders('Hi {{1}}, order {{2}}', ['Ann'])).toBe('Hi Ann, order {{2}}');
    expect(fillPlaceholders('Hi {{ 1 }}', ['Ann'])).toBe('Hi Ann');
  });
  it('normalizes names', () => {
    expect(normalizeName('Order Update-2!')).toBe('order_update_2');
  });
});

describe('template limits', () => {
  it('caps buttons by type and in total', () => {
    expect(canAddButton(Array.from({ length: 10 }, (_, i) => qr(`b${i}`)), 'QUICK_REPLY').ok).toBe(false);
    expect(canAddButton([{ type: 'URL', text: 'a', url: 'https://x' }, { type: 'URL', text: 'b', url: 'https://y' }], 'URL').ok).toBe(false);
    expect(canAddButton([{ type: 'PHONE_NUMBER', text: 'Call', phone_number: '+1555' }], 'PHONE_NUMBER').ok).toBe(false);
    expect(canAddButton([qr('a')], 'URL').ok).toBe(true);
  });
  it('reports lengths, gaps, duplicates and bad URLs', () => {
    expect(checkTemplate(base)).toEqual([]);
    const t = withComponent(
      withComponent(base, { type: 'HEADER', format: 'TEXT', text: 'x'.repeat(61) }, 'HEADER'),
      { type: 'BUTTONS', buttons: [qr('Yes'), qr('yes'), { type: 'URL', text: 'Open', url: 'ftp://x' }] },
      'BUTTONS',
    );
    const msgs = checkTemplate(t).map((p) => p.pointer);
    expect(msgs).toContain('/components/0/text');
    expect(msgs).toContain('/components/2/buttons');
    expect(msgs).toContain('/components/2/buttons/2/url');
    expect(checkTemplate({ ...base, components: [{ type: 'BODY', text: 'Hi {{2}}' }] })[0].message).toMatch(/in order/);
  });
  it('keeps components in Meta order and drops empty ones', () => {
    const t = withComponent(withComponent(base, { type: 'FOOTER', text: 'f' }, 'FOOTER'), { type: 'HEADER', text: 'h' }, 'HEADER');
    expect(t.components.map((c) => c.type)).toEqual(['HEADER', 'BODY', 'FOOTER']);
    expect(withComponent(t, { type: 'FOOTER', text: '' }, 'FOOTER').components.map((c) => c.type)).toEqual(['HEADER', 'BODY']);
  });
});
