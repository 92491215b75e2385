// The proposed change of "Ask AI to change…" as the canvas shows it: the
// proposed graph plus the removed nodes and edges as ghosts, each node and
// edge marked added, removed, changed or unchanged, and the list of changes
// in words. Pure, so it is unit-tested.
import type { FlowDoc } from '../editor/graph';

export type DocNode = FlowDoc['nodes'][number];
export type DocEdge = FlowDoc['edges'][number];
export type Mark = 'added' | 'removed' | 'changed' | 'same';

/** The diff of a proposal (the server's, or diffGraphs'). */
export interface GraphDiff {
  nodes_added: DocNode[];
  nodes_removed: DocNode[];
  nodes_changed: { id: string; before: DocNode; after: DocNode }[];
  edges_added: DocEdge[];
  edges_removed: DocEdge[];
}

export interface Change {
  kind: 'node' | 'edge';
  mark: Exclude<Mark, 'same'>;
  id: string;
  /** What it is, e.g. "message ask_email" or "wait_name (reply) → ask_email". */
  label: string;
  /** For a changed node: each changed data field, before → after. */
  fields?: { key: string; before: string; after: string }[];
}

export interface Highlighted {
  doc: FlowDoc;
  nodeMarks: Map<string, Mark>;
  edgeMarks: Map<string, Mark>;
  changes: Change[];
}

const json = (v: unknown) => JSON.stringify(v ?? null);

/** Diffs two graphs by node and edge ID (an edge whose ends or exit changed is removed + added). */
export function diffGraphs(before: FlowDoc, after: FlowDoc): GraphDiff {
  const bn = new Map(before.nodes.map((n) => [n.id, n]));
  const an = new Map(after.nodes.map((n) => [n.id, n]));
  const edgeKey = (e: DocEdge) => `${e.source}\u0000${e.sourceHandle ?? ''}\u0000${e.target}`;
  const be = new Map(before.edges.map((e) => [e.id, e]));
  const ae = new Map(after.edges.map((e) => [e.id, e]));
  return {
    nodes_added: after.nodes.filter((n) => !bn.has(n.id)),
    nodes_removed: before.nodes.filter((n) => !an.has(n.id)),
    nodes_changed: after.nodes
      .filter((n) => bn.has(n.id) && (bn.get(n.id)!.type !== n.type || json(bn.get(n.id)!.data) !== json(n.data)))
      .map((n) => ({ id: n.id, before: bn.get(n.id)!, after: n })),
    edges_added: after.edges.filter((e) => !be.has(e.id) || edgeKey(be.get(e.id)!) !== edgeKey(e)),
    edges_removed: before.edges.filter((e) => !ae.has(e.id) || edgeKey(ae.get(e.id)!) !== edgeKey(e)),
  };
}

const short = (v: unknown) => {
  const s = v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 80 ? s.slice(0, 80) + '…' : s;
};

/** The data fields that differ between two nodes, in key order. */
export function changedFields(before: DocNode, after: DocNode): { key: string; before: string; after: string }[] {
  const b = (before.data ?? {}) as Record<string, unknown>;
  const a = (after.data ?? {}) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  const out = keys.filter((k) => json(b[k]) !== json(a[k])).map((k) => ({ key: k, before: short(b[k]), after: short(a[k]) }));
  if (before.type !== after.type) out.unshift({ key: 'type', before: before.type, after: after.type });
  return out;
}

const edgeLabel = (e: DocEdge) => `${e.source}${e.sourceHandle ? ` (${e.sourceHandle})` : ''} → ${e.target}`;

/**
 * Merges the proposed graph with the diff: the removed nodes and edges are
 * kept (as ghosts) so the canvas shows what goes, each element is marked,
 * and the changes are listed: nodes first (added, changed, removed), then
 * connections.
 */
export function highlight(proposed: FlowDoc, diff: GraphDiff): Highlighted {
  const nodeMarks = new Map<string, Mark>(proposed.nodes.map((n) => [n.id, 'same']));
  const edgeMarks = new Map<string, Mark>(proposed.edges.map((e) => [e.id, 'same']));
  for (const n of diff.nodes_added) nodeMarks.set(n.id, 'added');
  for (const c of diff.nodes_changed) if (nodeMarks.get(c.id) !== 'added') nodeMarks.set(c.id, 'changed');
  for (const e of diff.edges_added) edgeMarks.set(e.id, 'added');
  const nodes = [...proposed.nodes];
  for (const n of diff.nodes_removed) {
    if (nodeMarks.has(n.id)) continue;
    nodeMarks.set(n.id, 'removed');
    nodes.push(n);
  }
  const edges = [...proposed.edges];
  const ghostIds = new Set(edges.map((e) => e.id));
  const removedEdges: DocEdge[] = [];
  for (const e of diff.edges_removed) {
    // A removed edge may share its ID with the edge that replaces it.
    let id = e.id;
    if (ghostIds.has(id)) id = `${e.id}~removed`;
    ghostIds.add(id);
    edgeMarks.set(id, 'removed');
    const ghost = { ...e, id };
    edges.push(ghost);
    removedEdges.push(ghost);
  }
  const changes: Change[] = [
    ...diff.nodes_added.map((n): Change => ({ kind: 'node', mark: 'added', id: n.id, label: `${n.type} ${n.id}` })),
    ...diff.nodes_changed.map((c): Change => ({ kind: 'node', mark: 'changed', id: c.id, label: `${c.after.type} ${c.id}`, fields: changedFields(c.before, c.after) })),
    ...diff.nodes_removed.map((n): Change => ({ kind: 'node', mark: 'removed', id: n.id, label: `${n.type} ${n.id}` })),
    ...diff.edges_added.map((e): Change => ({ kind: 'edge', mark: 'added', id: e.id, label: edgeLabel(e) })),
    ...removedEdges.map((e): Change => ({ kind: 'edge', mark: 'removed', id: e.id, label: edgeLabel(e) })),
  ];
  return { doc: { nodes, edges }, nodeMarks, edgeMarks, changes };
}
