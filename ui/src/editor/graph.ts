// Pure graph logic of the canvas: flow_data ⇄ canvas nodes/edges, the exits
// (output ports) of each node, keeping edges attached when a form renames an
// exit, inserting on an edge, copy/paste, auto-layout and {{variable}}
// completion. No React here, so it is unit-tested directly.
import type { Schemas } from '../api/client';

export type NodeTypeSpec = Schemas['NodeType'];
export type FieldSpec = Schemas['Field'];
export type Cfg = Record<string, unknown>;

/** Canvas node: the flow node's type is `data.kind`, its data `data.cfg`. */
export interface CNode {
  id: string;
  type: 'parley';
  position: { x: number; y: number };
  data: { kind: string; cfg: Cfg };
  selected?: boolean;
  dragging?: boolean;
  measured?: { width?: number; height?: number };
  [k: string]: unknown;
}
export interface CEdge {
  id: string;
  source: string;
  target: string;
  sourceHandle?: string | null;
  targetHandle?: string | null;
  type?: string;
  data?: Record<string, unknown>;
  selected?: boolean;
  label?: string;
  [k: string]: unknown;
}
export interface FlowDoc {
  nodes: { id: string; type: string; position?: { x: number; y: number }; data: Cfg }[];
  edges: { id: string; source: string; target: string; sourceHandle?: string; targetHandle?: string; label?: string; data?: Record<string, unknown> }[];
  viewport?: unknown;
}

export interface Exit {
  id: string;
  label: string;
  optional: boolean;
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));

/**
 * Values at a path such as `list.sections[*].rows[*]` in a node's data:
 * members separated by dots, `[*]` for each element of a list (the
 * notation of the server's node-types exits and limits).
 */
export function pathValues(data: unknown, path: string): unknown[] {
  let cur: unknown[] = [data];
  for (const seg of path.split('.')) {
    const each = seg.endsWith('[*]');
    const name = each ? seg.slice(0, -3) : seg;
    const next: unknown[] = [];
    for (const c of cur) {
      if (!c || typeof c !== 'object' || Array.isArray(c)) continue;
      const v = (c as Record<string, unknown>)[name];
      if (v == null) continue;
      if (!each) next.push(v);
      else if (Array.isArray(v)) next.push(...v);
    }
    cur = next;
  }
  return cur;
}

/**
 * The exits of a node, in the engine's order, evaluated from the node type's
 * description (GET /chat-flow/node-types/ `exits`): the first dynamic rule
 * that applies gives one exit per item plus its extra exits, else the static
 * exits. Items without a name are not shown (the linter reports them).
 */
export function exitsOf(spec: NodeTypeSpec | undefined, cfg: Cfg): Exit[] {
  if (!spec) return [];
  const desc = spec.exits;
  for (const rule of desc.dynamic ?? []) {
    const items = pathValues(cfg, rule.from);
    if (!items.length && !rule.always) continue;
    const out: Exit[] = [];
    for (const it of items) {
      const obj = it && typeof it === 'object' ? (it as Record<string, unknown>) : undefined;
      const id = rule.id ? str(obj?.[rule.id]) : str(it);
      if (!id) continue;
      const label = (rule.label && str(obj?.[rule.label])) || id;
      const detail = rule.detail ? obj?.[rule.detail] : undefined;
      out.push({ id, label: detail != null ? `${label} (${str(detail)})` : label, optional: false });
    }
    for (const p of rule.plus ?? []) out.push({ id: p.name, label: p.name, optional: !!p.optional });
    return out;
  }
  return (desc.static ?? []).map((e) => ({ id: e.name, label: e.name, optional: !!e.optional }));
}

/** The palette's groups in the server's order, with their labels. */
export function paletteGroups(types: NodeTypeSpec[]): [string, string][] {
  const seen = new Map<string, [number, string]>();
  for (const t of types) if (!seen.has(t.group)) seen.set(t.group, [t.group_order, t.group_label]);
  return [...seen.entries()].sort((a, b) => a[1][0] - b[1][0]).map(([g, [, label]]) => [g, label]);
}

/** The exit an edge without a name leaves by: `next`, or the only required exit. */
export function defaultExit(exits: Exit[]): string | null {
  if (exits.some((e) => e.id === 'next')) return 'next';
  const req = exits.filter((e) => !e.optional);
  return req.length === 1 ? req[0].id : null;
}

/** flow_data → canvas. Edges get an explicit sourceHandle (their exit). */
export function toCanvas(doc: FlowDoc | null | undefined, specs: Map<string, NodeTypeSpec>): { nodes: CNode[]; edges: CEdge[] } {
  const nodes: CNode[] = (doc?.nodes ?? []).map((n, i) => ({
    id: String(n.id),
    type: 'parley',
    position: n.position && Number.isFinite(n.position.x) ? { x: n.position.x, y: n.position.y } : { x: 0, y: i * 160 },
    data: { kind: n.type, cfg: (n.data ?? {}) as Cfg },
  }));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const edges: CEdge[] = (doc?.edges ?? []).map((e) => {
    let handle = e.sourceHandle || '';
    const tv = e.data && e.data.trigger === 'button_click' ? str(e.data.trigger_value) : e.data ? str(e.data.trigger_value) : '';
    if (!handle && tv) handle = tv;
    if (!handle) {
      const src = byId.get(String(e.source));
      if (src) handle = defaultExit(exitsOf(specs.get(src.data.kind), src.data.cfg)) ?? '';
    }
    const out: CEdge = { id: String(e.id), source: String(e.source), target: String(e.target), sourceHandle: handle || null, type: 'parley' };
    if (e.targetHandle) out.targetHandle = e.targetHandle;
    if (e.data && Object.keys(e.data).length) out.data = e.data;
    if (e.label) out.label = e.label;
    return out;
  });
  return { nodes, edges };
}

/** canvas → flow_data (only the public keys; UI state such as selection is dropped). */
export function fromCanvas(nodes: CNode[], edges: CEdge[]): FlowDoc {
  return {
    nodes: nodes.map((n) => ({
      id: n.id,
      type: n.data.kind,
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
      data: n.data.cfg,
    })),
    edges: edges.map((e) => {
      const out: FlowDoc['edges'][number] = { id: e.id, source: e.source, target: e.target };
      if (e.sourceHandle) out.sourceHandle = e.sourceHandle;
      if (e.targetHandle) out.targetHandle = e.targetHandle;
      if (e.label) out.label = e.label;
      if (e.data && Object.keys(e.data).length) {
        const d = { ...e.data };
        // Keep the chat-flow API's trigger_value in step with the handle.
        if (d.trigger === 'button_click' && e.sourceHandle && d.trigger_value !== e.sourceHandle) d.trigger_value = e.sourceHandle;
        out.data = d;
      }
      return out;
    }),
  };
}

/**
 * After a form changed a node, keep its edges on the right exits: an exit
 * renamed in place (same position, new id) moves its edge along; edges of an
 * exit that was removed are dropped (they would dangle).
 */
export function reconcileExits(nodeId: string, before: Exit[], after: Exit[], edges: CEdge[]): CEdge[] {
  const afterIds = new Set(after.map((e) => e.id));
  const beforeIds = new Set(before.map((e) => e.id));
  const rename = new Map<string, string>();
  if (before.length === after.length) {
    before.forEach((b, i) => {
      if (b.id !== after[i].id && !afterIds.has(b.id) && !beforeIds.has(after[i].id)) rename.set(b.id, after[i].id);
    });
  }
  let changed = false;
  const out: CEdge[] = [];
  for (const e of edges) {
    if (e.source !== nodeId || !e.sourceHandle) {
      out.push(e);
      continue;
    }
    const to = rename.get(e.sourceHandle);
    if (to) {
      changed = true;
      const data = e.data && 'trigger_value' in e.data ? { ...e.data, trigger_value: to } : e.data;
      out.push({ ...e, sourceHandle: to, data });
    } else if (beforeIds.has(e.sourceHandle) && !afterIds.has(e.sourceHandle)) {
      // Its exit is gone: only drop it when the exit list shrank (an item was deleted).
      if (after.length < before.length) {
        changed = true;
        continue;
      }
      out.push(e);
    } else out.push(e);
  }
  return changed ? out : edges;
}

/** A fresh node id like message_3, unused in the flow. */
export function nextNodeId(kind: string, taken: Iterable<string>): string {
  const set = new Set(taken);
  let i = 1;
  while (set.has(`${kind}_${i}`)) i++;
  return `${kind}_${i}`;
}
export function nextEdgeId(taken: Iterable<string>): string {
  const set = new Set(taken);
  let i = set.size + 1;
  while (set.has(`e${i}`)) i++;
  return `e${i}`;
}

/** Default data of a new node of a type (the server's `defaults`), so it starts close to valid. */
export function defaultCfg(spec: NodeTypeSpec | undefined): Cfg {
  return structuredClone((spec?.defaults ?? {}) as Cfg);
}

/**
 * Inserts `node` on edge `edgeId`: source→node through the edge's exit, then
 * node→target through the node's default exit (when it has one).
 */
export function insertOnEdge(
  nodes: CNode[],
  edges: CEdge[],
  edgeId: string,
  node: CNode,
  spec?: NodeTypeSpec,
): { nodes: CNode[]; edges: CEdge[] } {
  const edge = edges.find((e) => e.id === edgeId);
  if (!edge) return { nodes: [...nodes, node], edges };
  const ids = edges.map((e) => e.id);
  const first: CEdge = { ...edge, target: node.id, selected: false };
  const out = defaultExit(exitsOf(spec, node.data.cfg));
  const rest = edges.filter((e) => e.id !== edgeId);
  const next: CEdge[] = [first];
  if (out) next.push({ id: nextEdgeId([...ids, first.id]), source: node.id, sourceHandle: out, target: edge.target, type: 'parley' });
  return { nodes: [...nodes, node], edges: [...rest, ...next] };
}

/** Copies the selected nodes and the edges between them. */
export function copySelection(nodes: CNode[], edges: CEdge[]): { nodes: CNode[]; edges: CEdge[] } {
  const sel = nodes.filter((n) => n.selected);
  const ids = new Set(sel.map((n) => n.id));
  return { nodes: sel, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
}

/** Pastes a copy with fresh ids, offset so it does not cover the original. */
export function pasteClip(
  clip: { nodes: CNode[]; edges: CEdge[] },
  nodes: CNode[],
  edges: CEdge[],
  offset = 40,
): { nodes: CNode[]; edges: CEdge[] } {
  const taken = new Set(nodes.map((n) => n.id));
  const rename = new Map<string, string>();
  const newNodes: CNode[] = [];
  for (const n of clip.nodes) {
    if (n.data.kind === 'start') continue; // a flow has exactly one start
    const id = nextNodeId(n.data.kind, taken);
    taken.add(id);
    rename.set(n.id, id);
    newNodes.push({
      id,
      type: 'parley',
      position: { x: n.position.x + offset, y: n.position.y + offset },
      data: { kind: n.data.kind, cfg: structuredClone(n.data.cfg) },
      selected: true,
    });
  }
  const edgeIds = new Set(edges.map((e) => e.id));
  const newEdges: CEdge[] = [];
  for (const e of clip.edges) {
    const s = rename.get(e.source);
    const t = rename.get(e.target);
    if (!s || !t) continue;
    const id = nextEdgeId(edgeIds);
    edgeIds.add(id);
    newEdges.push({ ...e, id, source: s, target: t, selected: false });
  }
  return {
    nodes: [...nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...newNodes],
    edges: [...edges, ...newEdges],
  };
}

export const NODE_WIDTH = 240;
export function estimateHeight(n: CNode, specs: Map<string, NodeTypeSpec>): number {
  const exits = exitsOf(specs.get(n.data.kind), n.data.cfg).length;
  return 64 + 22 * Math.ceil(exits / 3);
}

/**
 * Layered layout, top to bottom: each node goes one layer below the first
 * node that reaches it (breadth-first from Start, back edges ignored);
 * siblings are ordered by their exit order and centred.
 */
export function autoLayout(nodes: CNode[], edges: CEdge[], specs: Map<string, NodeTypeSpec>): CNode[] {
  if (!nodes.length) return nodes;
  const out = new Map<string, CEdge[]>();
  for (const e of edges) {
    const l = out.get(e.source) ?? [];
    l.push(e);
    out.set(e.source, l);
  }
  // Order each node's edges by exit order.
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const [id, l] of out) {
    const n = byId.get(id);
    if (!n) continue;
    const order = exitsOf(specs.get(n.data.kind), n.data.cfg).map((x) => x.id);
    l.sort((a, b) => order.indexOf(a.sourceHandle ?? '') - order.indexOf(b.sourceHandle ?? ''));
  }
  const layer = new Map<string, number>();
  const layers: string[][] = [];
  const visit = (root: string, base: number) => {
    const q: string[] = [root];
    layer.set(root, base);
    while (q.length) {
      const id = q.shift()!;
      const l = layer.get(id)!;
      (layers[l] ??= []).push(id);
      for (const e of out.get(id) ?? []) {
        if (!byId.has(e.target) || layer.has(e.target)) continue;
        layer.set(e.target, l + 1);
        q.push(e.target);
      }
    }
  };
  const start = nodes.find((n) => n.data.kind === 'start');
  if (start) visit(start.id, 0);
  for (const n of nodes) if (!layer.has(n.id)) visit(n.id, 0);
  const pos = new Map<string, { x: number; y: number }>();
  let y = 0;
  for (const ids of layers) {
    if (!ids) continue;
    const gap = NODE_WIDTH + 60;
    ids.forEach((id, i) => pos.set(id, { x: Math.round((i - (ids.length - 1) / 2) * gap), y }));
    y += Math.max(...ids.map((id) => estimateHeight(byId.get(id)!, specs))) + 70;
  }
  return nodes.map((n) => ({ ...n, position: pos.get(n.id) ?? n.position }));
}

/** Names a template can use: contact/input/flow properties and the flow's variables. */
export const BUILTIN_NAMES = [
  'contact.name',
  'contact.phone',
  'contact.id',
  'contact.language',
  'contact.tags',
  'input.text',
  'input.button',
  'input.list_id',
  'input.type',
  'input.media_url',
  'flow.name',
  'flow.id',
  'now',
];

/** Every session variable the flow sets: the values of the fields the node types mark as `variable`. */
export function collectVariables(nodes: { data: { kind: string; cfg: Cfg } }[], specs: Map<string, NodeTypeSpec>): string[] {
  const out = new Set<string>();
  const walk = (f: FieldSpec, v: unknown) => {
    if (f.kind === 'object') {
      if (v && typeof v === 'object') for (const sub of f.fields ?? []) walk(sub, (v as Cfg)[sub.name]);
    } else if (f.kind === 'array') {
      if (f.items) for (const it of asArray(v)) walk(f.items as FieldSpec, it);
    } else if (f.variable && typeof v === 'string' && v.trim()) out.add(v.trim());
  };
  for (const n of nodes) for (const f of specs.get(n.data.kind)?.fields ?? []) walk(f, n.data.cfg[f.name]);
  return [...out].sort();
}

/**
 * When the caret is inside an unclosed `{{`, returns where the name being
 * typed starts and its prefix; otherwise null.
 */
export function completionContext(text: string, caret: number): { from: number; prefix: string } | null {
  const before = text.slice(0, caret);
  const open = before.lastIndexOf('{{');
  if (open < 0 || before.indexOf('}}', open) >= 0) return null;
  const inner = before.slice(open + 2);
  const m = /^(\s*)([\w.]*)$/.exec(inner);
  if (!m) return null;
  return { from: open + 2 + m[1].length, prefix: m[2] };
}

/** Suggestions for a prefix: the flow's variables first, then built-in names. */
export function suggest(prefix: string, variables: string[]): string[] {
  const p = prefix.toLowerCase();
  const all = [...variables, ...variables.map((v) => `vars.${v}`), ...BUILTIN_NAMES];
  const seen = new Set<string>();
  return all.filter((n) => {
    if (seen.has(n) || !n.toLowerCase().startsWith(p) || n === prefix) return false;
    seen.add(n);
    return true;
  }).slice(0, 8);
}

/** Inserts a completion, closing the hole when it is not closed yet. */
export function applyCompletion(text: string, caret: number, ctx: { from: number; prefix: string }, name: string): { text: string; caret: number } {
  const after = text.slice(caret);
  const closed = /^\s*}}/.test(after);
  const insert = closed ? name : `${name} }}`;
  const out = text.slice(0, ctx.from) + insert + after;
  return { text: out, caret: ctx.from + insert.length };
}

/** Placeholders {{1}}, {{2}}… (or named ones) of a WhatsApp template text. */
export function templatePlaceholders(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\{\{\s*([\w]+)\s*\}\}/g)) if (!out.includes(m[1])) out.push(m[1]);
  return out;
}
