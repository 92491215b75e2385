import { describe, expect, it } from 'vitest';
import { changedFields, diffGraphs, highlight } from './diff';
import type { FlowDoc } from '../editor/graph';

const base: FlowDoc = {
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'inbound' } } },
    { id: 'greet', type: 'message', position: { x: 0, y: 200 }, data: { text: 'Hi' } },
    { id: 'old', type: 'message', position: { x: 0, y: 400 }, data: { text: 'Bye' } },
    { id: 'end', type: 'end', position: { x: 0, y: 600 }, data: {} },
  ],
  edges: [
    { id: 'e1', source: 'start', sourceHandle: 'next', target: 'greet' },
    { id: 'e2', source: 'greet', sourceHandle: 'next', target: 'old' },
    { id: 'e3', source: 'old', sourceHandle: 'next', target: 'end' },
  ],
};
const proposed: FlowDoc = {
  nodes: [
    { id: 'start', type: 'start', position: { x: 0, y: 0 }, data: { trigger: { type: 'inbound' } } },
    { id: 'greet', type: 'message', position: { x: 0, y: 200 }, data: { text: 'Hello!' } },
    { id: 'ask_email', type: 'message', position: { x: 0, y: 400 }, data: { text: 'Your email?' } },
    { id: 'end', type: 'end', position: { x: 0, y: 600 }, data: {} },
  ],
  edges: [
    { id: 'e1', source: 'start', sourceHandle: 'next', target: 'greet' },
    { id: 'e2', source: 'greet', sourceHandle: 'next', target: 'ask_email' },
    { id: 'e4', source: 'ask_email', sourceHandle: 'next', target: 'end' },
  ],
};

describe('diffGraphs', () => {
  it('finds added, removed and changed nodes, and re-routed edges as removed + added', () => {
    const d = diffGraphs(base, proposed);
    expect(d.nodes_added.map((n) => n.id)).toEqual(['ask_email']);
    expect(d.nodes_removed.map((n) => n.id)).toEqual(['old']);
    expect(d.nodes_changed.map((c) => c.id)).toEqual(['greet']);
    expect(d.edges_added.map((e) => e.id)).toEqual(['e2', 'e4']);
    expect(d.edges_removed.map((e) => e.id)).toEqual(['e2', 'e3']);
  });
  it('finds nothing between equal graphs', () => {
    const d = diffGraphs(base, structuredClone(base));
    expect([...d.nodes_added, ...d.nodes_removed, ...d.edges_added, ...d.edges_removed, ...d.nodes_changed]).toEqual([]);
  });
});

describe('highlight', () => {
  const h = highlight(proposed, diffGraphs(base, proposed));
  it('marks every node, keeping removed ones as ghosts', () => {
    expect(Object.fromEntries(h.nodeMarks)).toEqual({ start: 'same', greet: 'changed', ask_email: 'added', end: 'same', old: 'removed' });
    expect(h.doc.nodes.map((n) => n.id)).toEqual(['start', 'greet', 'ask_email', 'end', 'old']);
    expect(h.doc.nodes.find((n) => n.id === 'old')!.position).toEqual({ x: 0, y: 400 });
  });
  it('marks edges; a removed edge sharing its ID with its replacement gets its own ID', () => {
    expect(Object.fromEntries(h.edgeMarks)).toEqual({ e1: 'same', e2: 'added', e4: 'added', 'e2~removed': 'removed', e3: 'removed' });
    expect(h.doc.edges.find((e) => e.id === 'e2~removed')!.target).toBe('old');
  });
  it('lists the changes in words', () => {
    expect(h.changes.map((c) => `${c.mark} ${c.kind} ${c.label}`)).toEqual([
      'added node message ask_email',
      'changed node message greet',
      'removed node message old',
      'added edge greet (next) → ask_email',
      'added edge ask_email (next) → end',
      'removed edge greet (next) → old',
      'removed edge old (next) → end',
    ]);
    expect(h.changes[1].fields).toEqual([{ key: 'text', before: 'Hi', after: 'Hello!' }]);
  });
});

describe('changedFields', () => {
  it('names added, removed and changed fields and a changed type', () => {
    expect(
      changedFields({ id: 'a', type: 'message', data: { text: 'x', buttons: ['A'] } }, { id: 'a', type: 'end', data: { text: 'x', timeout_seconds: 60 } }),
    ).toEqual([
      { key: 'type', before: 'message', after: 'end' },
      { key: 'buttons', before: '["A"]', after: '—' },
      { key: 'timeout_seconds', before: '—', after: '60' },
    ]);
  });
});
