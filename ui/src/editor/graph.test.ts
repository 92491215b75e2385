import { describe, expect, it } from 'vitest';
import {
  applyCompletion,
  autoLayout,
  collectVariables,
  completionContext,
  copySelection,
  defaultCfg,
  defaultExit,
  paletteGroups,
  exitsOf,
  firstScreen,
  fromCanvas,
  insertOnEdge,
  pasteClip,
  reconcileExits,
  suggest,
  toCanvas,
  type CNode,
  type Cfg,
  type FlowDoc,
  type NodeTypeSpec,
} from './graph';
import fixture from './testdata/node-types.json';

// The server's GET /chat-flow/node-types/ answer and exits it computed for
// sample nodes; a Go test (internal/flow TestNodeTypesFixture) keeps the file
// equal to what the server says, so these tests run the UI's generic code on
// the real description.
const specs = new Map<string, NodeTypeSpec>(fixture.results.map((t) => [t.type, t as unknown as NodeTypeSpec]));

const doc: FlowDoc = {
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'manual' } } },
    { id: 'ask', type: 'message', position: { x: 0, y: 100 }, data: { text: 'Hi', buttons: ['Yes', 'No'] } },
    { id: 'wait', type: 'wait_for_response', position: { x: 0, y: 200 }, data: { variable: 'age' } },
    { id: 'end', type: 'end', position: { x: 0, y: 300 }, data: {} },
  ],
  edges: [
    { id: 'e1', source: 'start', target: 'ask' },
    { id: 'e2', source: 'ask', target: 'wait', data: { trigger: 'button_click', trigger_value: 'Yes' } },
    { id: 'e3', source: 'ask', sourceHandle: 'No', target: 'end' },
    { id: 'e4', source: 'wait', target: 'end' },
  ],
};

describe('exits', () => {
  it.each(fixture.exit_cases.map((c) => [c.type, JSON.stringify(c.data), c]))('%s %s: the exits the server computes', (_t, _d, c) => {
    expect(exitsOf(specs.get(c.type), c.data as Cfg).map((e) => e.id)).toEqual(c.exits);
  });
  it('gives one exit per button, then other and timeout', () => {
    expect(exitsOf(specs.get('message'), { buttons: ['A', 'B'] }).map((e) => e.id)).toEqual(['A', 'B', 'other', 'timeout']);
    expect(exitsOf(specs.get('message'), { text: 'x' }).map((e) => e.id)).toEqual(['next']);
  });
  it('gives list rows by id with titles as labels', () => {
    const ex = exitsOf(specs.get('message'), { list: { button: 'Pick', sections: [{ rows: [{ id: 'r1', title: 'One' }] }] } });
    expect(ex[0]).toEqual({ id: 'r1', label: 'One', optional: false });
    expect(ex.slice(1)).toEqual([
      { id: 'other', label: 'other', optional: true },
      { id: 'timeout', label: 'timeout', optional: true },
    ]);
  });
  it('gives condition rules then else, split branches with weights', () => {
    expect(exitsOf(specs.get('condition'), { rules: [{ id: 'a' }, { id: 'b', label: 'Bee' }] }).map((e) => e.label)).toEqual(['a', 'Bee', 'else']);
    expect(exitsOf(specs.get('split'), { branches: [{ id: 'x', weight: 1 }, { id: 'y', label: 'Why' }] }).map((e) => e.label)).toEqual(['x (1)', 'Why']);
  });
  it('gives an ai_agent classify node one exit per label, then other and failed', () => {
    const ai = specs.get('ai_agent');
    expect(exitsOf(ai, { mode: 'classify', labels: [{ id: 'billing', label: 'Billing' }, { id: 'tech' }] }).map((e) => e.id)).toEqual(['billing', 'tech', 'other', 'failed']);
    expect(exitsOf(ai, { mode: 'reply' }).map((e) => e.id)).toEqual(['next', 'failed']);
    expect(exitsOf(ai, { mode: 'reply', converse: true }).map((e) => e.id)).toEqual(['next', 'failed', 'timeout']);
    expect(ai?.available).toBe(true);
  });
  it('follows the description, not the type name', () => {
    const custom = { ...specs.get('split')!, type: 'poll', exits: { static: [{ name: 'none' }], dynamic: [{ from: 'answers[*]', plus: [{ name: 'skip', optional: true }] }] } } as NodeTypeSpec;
    expect(exitsOf(custom, { answers: ['Red', '', 'Blue'] })).toEqual([
      { id: 'Red', label: 'Red', optional: false },
      { id: 'Blue', label: 'Blue', optional: false },
      { id: 'skip', label: 'skip', optional: true },
    ]);
    expect(exitsOf(custom, {}).map((e) => e.id)).toEqual(['none']);
    expect(exitsOf(undefined, { buttons: ['A'] })).toEqual([]);
  });
  it('finds the default exit', () => {
    expect(defaultExit(exitsOf(specs.get('wait_for_response'), {}))).toBe('reply');
    expect(defaultExit(exitsOf(specs.get('http_request'), {}))).toBe('success');
    expect(defaultExit(exitsOf(specs.get('message'), { buttons: ['A', 'B'] }))).toBeNull();
  });
});

describe('node types from the server', () => {
  it('orders the palette groups as the server says', () => {
    expect(paletteGroups([...specs.values()])).toEqual([
      ['messages', 'Messages'],
      ['logic', 'Logic'],
      ['data', 'Data'],
      ['integrations', 'Integrations'],
      ['whatsapp', 'WhatsApp'],
      ['voice', 'Voice'],
    ]);
  });
  it('starts new nodes from the server defaults, as copies', () => {
    const a = defaultCfg(specs.get('split'));
    expect(a).toEqual(specs.get('split')!.defaults);
    (a.branches as unknown[]).pop();
    expect((specs.get('split')!.defaults.branches as unknown[]).length).toBe(2);
    expect(defaultCfg(undefined)).toEqual({});
  });
  it('gives the limits on the fields', () => {
    const buttons = specs.get('message')!.fields!.find((f) => f.name === 'buttons')!;
    expect([buttons.max_items, buttons.items?.max_length]).toEqual([3, 20]);
  });
});

describe('flow_data ⇄ canvas', () => {
  it('names every edge exit and round-trips', () => {
    const c = toCanvas(doc, specs);
    expect(c.edges.map((e) => e.sourceHandle)).toEqual(['next', 'Yes', 'No', 'reply']);
    expect(c.nodes[1].data).toEqual({ kind: 'message', cfg: { text: 'Hi', buttons: ['Yes', 'No'] } });
    const back = fromCanvas(c.nodes, c.edges);
    expect(back.nodes).toEqual(doc.nodes);
    expect(back.edges[1]).toEqual({ id: 'e2', source: 'ask', sourceHandle: 'Yes', target: 'wait', data: { trigger: 'button_click', trigger_value: 'Yes' } });
  });
  it('drops UI state on the way back', () => {
    const c = toCanvas(doc, specs);
    c.nodes[0].selected = true;
    c.nodes[0].measured = { width: 1, height: 2 };
    expect(Object.keys(fromCanvas(c.nodes, c.edges).nodes[0])).toEqual(['id', 'type', 'position', 'data']);
  });
});

describe('form edits keep edges attached', () => {
  it('moves the edge when a button is renamed', () => {
    const c = toCanvas(doc, specs);
    const before = exitsOf(specs.get('message'), { buttons: ['Yes', 'No'] });
    const after = exitsOf(specs.get('message'), { buttons: ['Yes please', 'No'] });
    const edges = reconcileExits('ask', before, after, c.edges);
    const e2 = edges.find((e) => e.id === 'e2')!;
    expect(e2.sourceHandle).toBe('Yes please');
    expect(e2.data?.trigger_value).toBe('Yes please');
    expect(fromCanvas(c.nodes, edges).edges[1].data?.trigger_value).toBe('Yes please');
  });
  it('drops the edge of a deleted button and keeps the others', () => {
    const c = toCanvas(doc, specs);
    const edges = reconcileExits('ask', exitsOf(specs.get('message'), { buttons: ['Yes', 'No'] }), exitsOf(specs.get('message'), { buttons: ['No'] }), c.edges);
    expect(edges.map((e) => e.id)).toEqual(['e1', 'e3', 'e4']);
  });
  it('leaves edges alone when nothing about the exits changed', () => {
    const c = toCanvas(doc, specs);
    const ex = exitsOf(specs.get('message'), { buttons: ['Yes', 'No'] });
    expect(reconcileExits('ask', ex, ex, c.edges)).toBe(c.edges);
  });
});

describe('canvas operations', () => {
  it('inserts a node on an edge', () => {
    const c = toCanvas(doc, specs);
    const n: CNode = { id: 'message_1', type: 'parley', position: { x: 0, y: 0 }, data: { kind: 'message', cfg: { text: 'x' } } };
    const r = insertOnEdge(c.nodes, c.edges, 'e4', n, specs.get('message'));
    expect(r.edges.filter((e) => e.source === 'wait' || e.source === 'message_1').map((e) => [e.source, e.sourceHandle, e.target])).toEqual([
      ['wait', 'reply', 'message_1'],
      ['message_1', 'next', 'end'],
    ]);
  });
  it('copies and pastes with fresh ids, never a second start', () => {
    const c = toCanvas(doc, specs);
    c.nodes.forEach((n) => (n.selected = true));
    const clip = copySelection(c.nodes, c.edges);
    const r = pasteClip(clip, c.nodes, c.edges);
    expect(r.nodes.filter((n) => n.data.kind === 'start')).toHaveLength(1);
    expect(r.nodes).toHaveLength(7);
    expect(new Set(r.nodes.map((n) => n.id)).size).toBe(7);
    expect(new Set(r.edges.map((e) => e.id)).size).toBe(r.edges.length);
    expect(r.edges.length).toBe(4 + 3); // ask→wait, ask→end, wait→end copied; start’s edge not
  });
  it('lays out top to bottom from start', () => {
    const c = toCanvas(doc, specs);
    const laid = autoLayout(c.nodes, c.edges, specs);
    const y = Object.fromEntries(laid.map((n) => [n.id, n.position.y]));
    expect(y.start).toBeLessThan(y.ask);
    expect(y.ask).toBeLessThan(y.wait);
    expect(y.wait).toBeLessThan(y.end); // end is reached from wait too: below it
  });
  // A 3-way branch whose branches meet again, with a loop back: the
  // branches sit side by side in exit order (not one column), the merge
  // below them, nothing overlaps and the loop does not pull a node up.
  const branchy: FlowDoc = {
    nodes: [
      { id: 'start', type: 'start', data: { trigger: { type: 'manual' } } },
      { id: 'menu', type: 'message', data: { text: 'Pick', buttons: ['Book', 'Prices', 'Human'] } },
      { id: 'book', type: 'message', data: { text: 'b' } },
      { id: 'prices', type: 'message', data: { text: 'p' } },
      { id: 'human', type: 'handoff', data: {} },
      { id: 'bye', type: 'end', data: {} },
    ],
    edges: [
      { id: 'e1', source: 'start', target: 'menu' },
      { id: 'e2', source: 'menu', sourceHandle: 'Human', target: 'human' },
      { id: 'e3', source: 'menu', sourceHandle: 'Prices', target: 'prices' },
      { id: 'e4', source: 'menu', sourceHandle: 'Book', target: 'book' },
      { id: 'e5', source: 'book', target: 'bye' },
      { id: 'e6', source: 'prices', target: 'menu' },
      { id: 'e7', source: 'human', sourceHandle: 'next', target: 'bye' },
      { id: 'e8', source: 'start', target: 'bye' },
    ],
  };
  it('lays a 3-way branch side by side in exit order, without overlaps', () => {
    const c = toCanvas(branchy, specs);
    const laid = autoLayout(c.nodes, c.edges, specs);
    const p = Object.fromEntries(laid.map((n) => [n.id, n.position]));
    expect(p.book.y).toBe(p.prices.y);
    expect(p.prices.y).toBe(p.human.y);
    expect(p.book.x).toBeLessThan(p.prices.x);
    expect(p.prices.x).toBeLessThan(p.human.x);
    expect(p.menu.y).toBeLessThan(p.book.y);
    expect(p.bye.y).toBeGreaterThan(p.book.y);
    // The menu is centred over its branches, start over the menu.
    expect(Math.abs(p.menu.x - p.prices.x)).toBeLessThan(60);
    for (const a of laid)
      for (const b of laid) {
        if (a === b) continue;
        const overlap = Math.abs(a.position.x - b.position.x) < 240 && Math.abs(a.position.y - b.position.y) < 60;
        expect(overlap, `${a.id} overlaps ${b.id}`).toBe(false);
      }
  });
  it('opens on the first screen around Start at a readable zoom, not the whole flow', () => {
    const c = toCanvas(branchy, specs);
    // A long tail below: 40 more messages in a chain.
    for (let i = 0; i < 40; i++) {
      c.nodes.push({ id: `m${i}`, type: 'parley', position: { x: 0, y: 0 }, data: { kind: 'message', cfg: { text: 'x' } } });
      c.edges.push({ id: `t${i}`, source: i ? `m${i - 1}` : 'bye', target: `m${i}`, sourceHandle: 'next', type: 'parley' });
    }
    const laid = autoLayout(c.nodes, c.edges, specs);
    const v = firstScreen(laid, c.edges, specs, { width: 900, height: 800 })!;
    expect(v.zoom).toBeGreaterThanOrEqual(0.9);
    expect(v.zoom).toBeLessThanOrEqual(1);
    const start = laid.find((n) => n.id === 'start')!;
    const sx = start.position.x * v.zoom + v.x;
    const sy = start.position.y * v.zoom + v.y;
    expect(sx).toBeGreaterThan(0);
    expect(sx + 240 * v.zoom).toBeLessThan(900);
    expect(sy).toBeGreaterThanOrEqual(0);
    expect(sy).toBeLessThan(100); // Start at the top
    const last = laid.find((n) => n.id === 'm39')!;
    expect(last.position.y * v.zoom + v.y).toBeGreaterThan(800); // the tail is below the fold
  });
});

describe('{{variable}} completion', () => {
  it('collects the variables the flow sets', () => {
    const c = toCanvas(doc, specs);
    c.nodes.push({ id: 's', type: 'parley', position: { x: 0, y: 0 }, data: { kind: 'set_variable', cfg: { assignments: [{ variable: 'total' }] } } });
    c.nodes.push({ id: 'h', type: 'parley', position: { x: 0, y: 0 }, data: { kind: 'http_request', cfg: { response_variable: 'resp', mappings: [{ variable: 'city', path: 'a' }] } } });
    expect(collectVariables(c.nodes, specs)).toEqual(['age', 'city', 'resp', 'total']);
  });
  it('knows when the caret is in an open hole', () => {
    expect(completionContext('Hi {{ con', 9)).toEqual({ from: 6, prefix: 'con' });
    expect(completionContext('Hi {{x}} there', 14)).toBeNull();
    expect(completionContext('Hi {{', 5)).toEqual({ from: 5, prefix: '' });
    expect(completionContext('{{ a + b', 8)).toBeNull();
  });
  it('suggests and inserts', () => {
    expect(suggest('con', ['age'])).toContain('contact.name');
    expect(suggest('a', ['age'])).toEqual(['age']);
    const r = applyCompletion('Hi {{ con', 9, { from: 6, prefix: 'con' }, 'contact.name');
    expect(r.text).toBe('Hi {{ contact.name }}');
    const r2 = applyCompletion('Hi {{ con }}!', 9, { from: 6, prefix: 'con' }, 'contact.name');
    expect(r2.text).toBe('Hi {{ contact.name }}!');
  });
});
