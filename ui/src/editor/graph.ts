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
    if (rule.when && cfg?.[rule.when] !== true) continue;
    const items = rule.from ? pathValues(cfg, rule.from) : [];
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
  return 68 + 30 * Math.ceil(exits / 3);
}

/**
 * Layered layout, top to bottom (Sugiyama style): each node sits one layer
 * below the lowest node that leads to it (longest path from Start, loops
 * ignored), connections that skip layers get invisible waypoints, the order
 * within each layer is swept by barycentres (an exit's position on its node
 * counts) keeping the order with the fewest crossings, and x positions pull
 * each node towards its neighbours while keeping siblings side by side.
 */
export function autoLayout(nodes: CNode[], edges: CEdge[], specs: Map<string, NodeTypeSpec>): CNode[] {
  if (!nodes.length) return nodes;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const exitIndex = new Map<string, { i: number; n: number }>();
  const exitOf = (e: CEdge) => {
    const src = byId.get(e.source)!;
    const ids = exitsOf(specs.get(src.data.kind), src.data.cfg).map((x) => x.id);
    const i = ids.indexOf(e.sourceHandle ?? '');
    return { i: i < 0 ? ids.length : i, n: Math.max(1, ids.length + (i < 0 ? 1 : 0)) };
  };
  const out = new Map<string, CEdge[]>();
  for (const e of edges) {
    if (!byId.has(e.source) || !byId.has(e.target) || e.source === e.target) continue;
    exitIndex.set(e.id, exitOf(e));
    (out.get(e.source) ?? out.set(e.source, []).get(e.source)!).push(e);
  }
  for (const l of out.values()) l.sort((a, b) => exitIndex.get(a.id)!.i - exitIndex.get(b.id)!.i);

  // 1. Depth-first from Start (then any node not reached): edges back to a
  // node on the stack are loops and do not shape the layers; the discovery
  // order is the first order within each layer.
  const state = new Map<string, 1 | 2>();
  const back = new Set<string>();
  const post: string[] = [];
  const discovered: string[] = [];
  const dfs = (root: string) => {
    const stack: { id: string; k: number }[] = [{ id: root, k: 0 }];
    state.set(root, 1);
    discovered.push(root);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const l = out.get(top.id) ?? [];
      if (top.k < l.length) {
        const e = l[top.k++];
        const st = state.get(e.target);
        if (st === 1) back.add(e.id);
        else if (!st) {
          state.set(e.target, 1);
          discovered.push(e.target);
          stack.push({ id: e.target, k: 0 });
        }
      } else {
        state.set(top.id, 2);
        post.push(top.id);
        stack.pop();
      }
    }
  };
  const start = nodes.find((n) => n.data.kind === 'start');
  if (start) dfs(start.id);
  for (const n of nodes) if (!state.has(n.id)) dfs(n.id);
  const forward = edges.filter((e) => exitIndex.has(e.id) && !back.has(e.id));

  // 2. Layers: longest path, in topological order (reverse post-order).
  const layer = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  const fwdOut = new Map<string, CEdge[]>();
  for (const e of forward) (fwdOut.get(e.source) ?? fwdOut.set(e.source, []).get(e.source)!).push(e);
  for (const id of [...post].reverse()) for (const e of fwdOut.get(id) ?? []) layer.set(e.target, Math.max(layer.get(e.target)!, layer.get(id)! + 1));

  // 3. Waypoints for edges that skip layers: every link joins adjacent layers.
  type V = { id: string; real: boolean; width: number };
  const verts = new Map<string, V>(nodes.map((n) => [n.id, { id: n.id, real: true, width: n.measured?.width ?? NODE_WIDTH }]));
  type Link = { from: string; to: string; port: number; ports: number };
  const links: Link[] = [];
  for (const e of forward) {
    const { i, n } = exitIndex.get(e.id)!;
    let from = e.source;
    let port = i;
    let ports = n;
    for (let l = layer.get(e.source)! + 1; l < layer.get(e.target)!; l++) {
      const id = `\u0000${e.id}\u0000${l}`;
      verts.set(id, { id, real: false, width: 24 });
      layer.set(id, l);
      links.push({ from, to: id, port, ports });
      from = id;
      port = 0;
      ports = 1;
    }
    links.push({ from, to: e.target, port, ports });
  }
  const up = new Map<string, Link[]>();
  const down = new Map<string, Link[]>();
  for (const k of links) {
    (down.get(k.from) ?? down.set(k.from, []).get(k.from)!).push(k);
    (up.get(k.to) ?? up.set(k.to, []).get(k.to)!).push(k);
  }

  // 4. Order within layers: discovery order (waypoints right after their
  // source's discovery), then barycentre sweeps; keep the best.
  const rank = new Map<string, number>();
  discovered.forEach((id, i) => rank.set(id, i));
  for (const k of links) if (!verts.get(k.to)!.real || !rank.has(k.to)) rank.set(k.to, rank.get(k.to) ?? rank.get(k.from)! + 0.5);
  const depth = Math.max(...[...layer.values()]) + 1;
  let layers: string[][] = Array.from({ length: depth }, () => []);
  for (const id of verts.keys()) layers[layer.get(id)!].push(id);
  for (const l of layers) l.sort((a, b) => rank.get(a)! - rank.get(b)!);
  const posIn = (ls: string[][]) => {
    const m = new Map<string, number>();
    for (const l of ls) l.forEach((id, i) => m.set(id, i));
    return m;
  };
  const crossings = (ls: string[][]) => {
    const pos = posIn(ls);
    let c = 0;
    for (const l of ls) {
      const ks = l.flatMap((id) => down.get(id) ?? []).map((k) => [pos.get(k.from)! + (k.port + 0.5) / k.ports / 2, pos.get(k.to)!]);
      for (let a = 0; a < ks.length; a++) for (let b = a + 1; b < ks.length; b++) if ((ks[a][0] - ks[b][0]) * (ks[a][1] - ks[b][1]) < 0) c++;
    }
    return c;
  };
  let best = layers.map((l) => [...l]);
  let bestC = crossings(best);
  for (let it = 0; it < 8 && bestC > 0; it++) {
    const downward = it % 2 === 0;
    const order = downward ? layers.map((_, i) => i).slice(1) : layers.map((_, i) => i).reverse().slice(1);
    for (const li of order) {
      const pos = posIn(layers);
      const bary = new Map<string, number>();
      for (const id of layers[li]) {
        const ks = downward ? up.get(id) ?? [] : down.get(id) ?? [];
        const xs = ks.map((k) => (downward ? pos.get(k.from)! + (k.port + 0.5) / k.ports - 0.5 : pos.get(k.to)!));
        bary.set(id, xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : pos.get(id)!);
      }
      layers[li] = [...layers[li]].sort((a, b) => bary.get(a)! - bary.get(b)!);
    }
    const c = crossings(layers);
    if (c < bestC) {
      best = layers.map((l) => [...l]);
      bestC = c;
    }
  }
  layers = best;

  // 5. x: each node pulled to its neighbours (a child under its exit), the
  // order kept with at least a gap between neighbours (isotonic regression).
  const GAP = 48;
  const x = new Map<string, number>();
  for (const l of layers) {
    let cx = 0;
    const w = l.reduce((a, id) => a + verts.get(id)!.width + GAP, -GAP);
    for (const id of l) {
      const vw = verts.get(id)!.width;
      x.set(id, cx - w / 2 + vw / 2);
      cx += vw + GAP;
    }
  }
  const portOffset = (k: Link) => (k.ports > 1 ? (k.port - (k.ports - 1) / 2) * Math.min(70, (NODE_WIDTH - 40) / k.ports) : 0);
  const place = (l: string[], want: (id: string) => number) => {
    // Minimises Σ (x_i − want_i)² with x_{i+1} − x_i ≥ separation (pool adjacent violators).
    const off: number[] = [0];
    for (let i = 1; i < l.length; i++) off.push(off[i - 1] + (verts.get(l[i - 1])!.width + verts.get(l[i])!.width) / 2 + GAP);
    const blocks: { sum: number; n: number; from: number }[] = [];
    l.forEach((id, i) => {
      blocks.push({ sum: want(id) - off[i], n: 1, from: i });
      while (blocks.length > 1 && blocks[blocks.length - 2].sum / blocks[blocks.length - 2].n > blocks[blocks.length - 1].sum / blocks[blocks.length - 1].n) {
        const b = blocks.pop()!;
        blocks[blocks.length - 1].sum += b.sum;
        blocks[blocks.length - 1].n += b.n;
      }
    });
    blocks.forEach((b, bi) => {
      const to = bi + 1 < blocks.length ? blocks[bi + 1].from : l.length;
      for (let i = b.from; i < to; i++) x.set(l[i], b.sum / b.n + off[i]);
    });
  };
  for (let it = 0; it < 12; it++) {
    const downward = it % 2 === 0;
    const order = downward ? layers.map((_, i) => i) : layers.map((_, i) => i).reverse();
    for (const li of order) {
      place(layers[li], (id) => {
        const ks = downward ? up.get(id) ?? [] : down.get(id) ?? [];
        const xs = ks.map((k) => (downward ? x.get(k.from)! + portOffset(k) : x.get(k.to)! - portOffset(k)));
        // Later passes also listen to the other side, so parents centre over their children.
        const other = it > 3 ? (downward ? down.get(id) ?? [] : up.get(id) ?? []).map((k) => (downward ? x.get(k.to)! - portOffset(k) : x.get(k.from)! + portOffset(k))) : [];
        const all = [...xs, ...xs, ...other];
        return all.length ? all.reduce((a, b) => a + b, 0) / all.length : x.get(id)!;
      });
    }
  }

  // 6. y: layers stacked by their tallest node.
  const pos = new Map<string, { x: number; y: number }>();
  let y = 0;
  for (const l of layers) {
    const real = l.filter((id) => verts.get(id)!.real);
    for (const id of real) pos.set(id, { x: Math.round(x.get(id)! - verts.get(id)!.width / 2), y });
    y += Math.max(40, ...real.map((id) => byId.get(id)!.measured?.height ?? estimateHeight(byId.get(id)!, specs))) + 80;
  }
  return nodes.map((n) => ({ ...n, position: pos.get(n.id) ?? n.position }));
}

/**
 * The first screen of a flow: the Start node and the nodes nearest to it
 * (breadth-first) while they fit the pane at a readable zoom (≥ minZoom,
 * at most 100 %), as bounds to show; the rest is a scroll away.
 */
export function firstScreen(
  nodes: CNode[],
  edges: CEdge[],
  specs: Map<string, NodeTypeSpec>,
  pane: { width: number; height: number },
  minZoom = 0.9,
): { x: number; y: number; zoom: number } | null {
  if (!nodes.length || pane.width <= 0 || pane.height <= 0) return null;
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out = new Map<string, string[]>();
  for (const e of edges) (out.get(e.source) ?? out.set(e.source, []).get(e.source)!).push(e.target);
  const start = nodes.find((n) => n.data.kind === 'start') ?? nodes[0];
  const pad = 40;
  const maxW = (pane.width - 2 * pad) / minZoom;
  const maxH = (pane.height - 2 * pad) / minZoom;
  const box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  const seen = new Set([start.id]);
  const q = [start.id];
  while (q.length) {
    const n = byId.get(q.shift()!)!;
    const w = n.measured?.width ?? NODE_WIDTH;
    const h = n.measured?.height ?? estimateHeight(n, specs);
    const nb = { x0: Math.min(box.x0, n.position.x), y0: Math.min(box.y0, n.position.y), x1: Math.max(box.x1, n.position.x + w), y1: Math.max(box.y1, n.position.y + h) };
    if (box.x0 !== Infinity && (nb.x1 - nb.x0 > maxW || nb.y1 - nb.y0 > maxH)) continue;
    Object.assign(box, nb);
    for (const t of out.get(n.id) ?? []) if (byId.has(t) && !seen.has(t)) seen.add(t), q.push(t);
  }
  const zoom = Math.max(minZoom, Math.min(1, (pane.width - 2 * pad) / (box.x1 - box.x0), (pane.height - 2 * pad) / (box.y1 - box.y0)));
  // Centred across, Start near the top.
  return { x: pane.width / 2 - ((box.x0 + box.x1) / 2) * zoom, y: pad - box.y0 * zoom, zoom };
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
