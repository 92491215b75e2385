import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { Preview } from './Preview';
import type { FlowJSON } from './runtime';
import { nodeFS, template } from './testutil';

const render = (flow: string | FlowJSON, sampleData?: Record<string, unknown>) => renderToStaticMarkup(createElement(Preview, { flow, sampleData }));

// The shared real-world fixtures live in ../shared/fixtures beside the
// repository (or beside a folder above it, for git worktrees).
const { fs, join, dirname, here } = await nodeFS();
function fixturesDir(): string | undefined {
  let dir = here;
  for (;;) {
    const cand = join(dir, 'shared', 'fixtures', 'pywa', 'flows');
    if (fs.existsSync(cand)) return join(dir, 'shared', 'fixtures');
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const b64png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

const everything: FlowJSON = {
  version: '7.1',
  screens: [{
    id: 'ALL', title: 'Every component', terminal: true,
    data: { name: { type: 'string', __example__: 'Ana' } },
    layout: { type: 'SingleColumnLayout', children: [
      { type: 'TextHeading', text: 'Heading' },
      { type: 'TextSubheading', text: 'Subheading' },
      { type: 'TextBody', text: "`'Hello ' ${data.name}`", 'font-weight': 'bold' },
      { type: 'TextCaption', text: 'A *caption* with ~~strike~~', markdown: true },
      { type: 'TextInput', name: 'email', label: 'Email', 'input-type': 'email', 'helper-text': 'Work email' },
      { type: 'TextArea', name: 'notes', label: 'Notes' },
      { type: 'Dropdown', name: 'dd', label: 'Pick', 'data-source': [{ id: 'x', title: 'Option X' }] },
      { type: 'DatePicker', name: 'day', label: 'Day', 'min-date': '2026-01-01' },
      { type: 'CalendarPicker', name: 'stay', mode: 'range', title: 'Your stay', label: { 'start-date': 'Check-in', 'end-date': 'Check-out' } },
      { type: 'RadioButtonsGroup', name: 'r', label: 'Radio', 'data-source': [{ id: 'r1', title: 'Radio one', description: 'desc', image: b64png }] },
      { type: 'CheckboxGroup', name: 'c', label: 'Boxes', 'data-source': [{ id: 'c1', title: 'Box one' }] },
      { type: 'ChipsSelector', name: 'chips', label: 'Chips', 'data-source': [{ id: 'k1', title: 'Chip one' }, { id: 'k2', title: 'Chip two' }] },
      { type: 'OptIn', name: 'tos', label: 'I agree', 'on-click-action': { name: 'open_url', url: 'https://example.com' } },
      { type: 'EmbeddedLink', text: 'A link', 'on-click-action': { name: 'open_url', url: 'https://example.com' } },
      { type: 'Image', src: b64png, 'alt-text': 'pixel' },
      { type: 'ImageCarousel', images: [{ src: b64png, 'alt-text': 'slide one' }] },
      { type: 'PhotoPicker', name: 'photo', label: 'Photos' },
      { type: 'Footer', label: 'Finish', 'left-caption': 'Left', 'right-caption': 'Right', 'on-click-action': { name: 'complete', payload: {} } },
    ] },
  }],
};

describe('Preview', () => {
  it('draws every component', () => {
    const html = render(everything);
    for (const want of [
      '<h2 class="waf-heading">Heading</h2>', 'Subheading', 'Hello Ana', '<i>caption</i>', '<s>strike</s>',
      'type="email"', 'Work email', '<textarea', '<select', 'Option X', 'type="date"', 'Check-in', 'Check-out', 'Your stay',
      'type="radio"', 'Radio one', 'data:image/png;base64', 'type="checkbox"', 'Box one', 'aria-pressed="false"', 'Chip two',
      'I agree', 'Read more', 'A link', 'alt="pixel"', 'alt="slide one"', 'type="file"', 'Finish', 'Left', 'Right', 'Every component',
    ]) expect(html).toContain(want);
    expect(html).not.toContain('Unsupported component');
  });
  it('disables the Footer until required fields are filled', () => {
    const html = render(template('sign_up'));
    expect(html).toMatch(/<button type="button" class="waf-cta" disabled=""[^>]*title="Fill in: First name, Last name, Email, I agree to the terms of service"/);
  });
  it('shows the JSON error instead of a phone', () => {
    expect(render('{"version": ')).toContain('Not valid JSON');
  });
  it('uses sample data for the first screen', () => {
    const flow: FlowJSON = { version: '6.0', screens: [{ id: 'A', terminal: true, title: 'Hi ${data.who}', data: { who: { type: 'string', __example__: 'example' } }, layout: { children: [{ type: 'TextBody', text: '${data.who}' }] } }] };
    expect(render(flow)).toContain('Hi example');
    expect(render(flow, { who: 'Bruno' })).toContain('Hi Bruno');
    // The author can edit that data beside the phone, starting from the examples.
    expect(render(flow)).toMatch(/<textarea aria-label="First screen data"[^>]*>\{\n {2}&quot;who&quot;: &quot;example&quot;\n\}<\/textarea>/);
  });
  it('renders every built-in template', () => {
    for (const id of ['appointment_booking', 'lead_capture', 'survey', 'order_form', 'sign_up']) {
      const html = render(template(id));
      expect(html).toContain('waf-cta');
      expect(html).not.toContain('Unsupported component');
    }
  });
  const fx = fixturesDir();
  it.skipIf(!fx)('renders the first screen of every real example', () => {
    const docs: [string, FlowJSON][] = [];
    for (const f of fs.readdirSync(join(fx!, 'pywa', 'flows')).filter((x: string) => x.endsWith('.json'))) {
      for (const [name, doc] of Object.entries(JSON.parse(fs.readFileSync(join(fx!, 'pywa', 'flows', f), 'utf8')) as Record<string, FlowJSON>)) docs.push([`${f}/${name}`, doc]);
    }
    for (const f of ['survey.json', 'agent-connect.json', 'contact-us.json']) {
      docs.push([f, JSON.parse(fs.readFileSync(join(fx!, 'meta-flows-tools', f), 'utf8')) as FlowJSON]);
    }
    expect(docs.length).toBeGreaterThanOrEqual(35);
    for (const [name, doc] of docs) {
      const html = render(doc);
      expect(html, name).toContain('data-testid="waform-screen"');
      expect(html, name).not.toContain('Unsupported component');
    }
  });
});
