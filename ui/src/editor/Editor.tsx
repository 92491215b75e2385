// The flow editor: canvas, palette, side panel (node form, problems,
// simulator, history), save/publish with optimistic concurrency.
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from 'react';
import {
  ReactFlow,
  ReactFlowProvider,
  Background,
  Controls,
  MiniMap,
  applyEdgeChanges,
  applyNodeChanges,
  useReactFlow,
  useStore,
  Position,
  type Connection,
  type EdgeChange,
  type NodeChange,
} from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { api, ApiError, errorMessage, type Schemas } from '../api/client';
import { canEdit, useMe } from '../lib/auth';
import { Link, useTitle } from '../lib/router';
import { take } from '../lib/prefetch';
import { PHONE, useMedia } from '../lib/media';
import { useTheme } from '../lib/theme';
import { Badge, ErrorBanner, useLoad, TabPanel, Tabs, useToast } from '../components/ui';
import { FlowSettingsDialog } from '../components/FlowSettings';
import {
  autoLayout,
  collectVariables,
  estimateHeight,
  NODE_WIDTH,
  copySelection,
  defaultCfg,
  paletteGroups,
  exitsOf,
  firstScreen,
  fromCanvas,
  insertOnEdge,
  nextEdgeId,
  nextNodeId,
  pasteClip,
  reconcileExits,
  toCanvas,
  type CEdge,
  type CNode,
  type Cfg,
  type FlowDoc,
  type NodeTypeSpec,
} from './graph';
import { CanvasCtx, type CanvasInfo, type Problem } from './context';
import { describeNode, FlowNode, nodeA11y } from './FlowNode';
import { PlusEdge } from './PlusEdge';
import { NodeForm } from './NodeForm';
import { Simulator } from './Simulator';
import { ConflictDialog, type Conflict } from './ConflictDialog';
import { Revisions } from './Revisions';
import { AskChange } from '../ai/AskChange';

type Flow = Schemas['Flow'];
const nodeTypes = { parley: FlowNode };
const edgeTypes = { parley: PlusEdge };
type Snapshot = { nodes: CNode[]; edges: CEdge[] };
const BIG_FLOW = 150;
const NO_PROBLEMS: Problem[] = [];

/** Estimated size and handle positions of a node not measured yet (see BIG_FLOW). */
function withEstimates(n: CNode, specs: Map<string, NodeTypeSpec>): CNode {
  const h = estimateHeight(n, specs);
  const exits = exitsOf(specs.get(n.data.kind), n.data.cfg);
  const handles = [
    ...(n.data.kind === 'start' ? [] : [{ id: null, type: 'target' as const, position: Position.Top, x: NODE_WIDTH / 2 - 7, y: -7, width: 14, height: 14 }]),
    ...exits.map((x, i) => ({
      id: x.id,
      type: 'source' as const,
      position: Position.Bottom,
      x: ((i % 3) + 0.5) * (NODE_WIDTH / Math.min(3, exits.length)) - 6,
      y: h - 26 - 30 * (Math.ceil(exits.length / 3) - 1 - Math.floor(i / 3)),
      width: 12,
      height: 12,
    })),
  ];
  return { ...n, initialWidth: NODE_WIDTH, initialHeight: h, handles };
}
/** The previous array when every element is the same as before (so memos keyed on it hold). */
function useShallowStable<T>(arr: T[]): T[] {
  const ref = useRef(arr);
  const prev = ref.current;
  if (prev.length !== arr.length || arr.some((x, i) => x !== prev[i])) ref.current = arr;
  return ref.current;
}
function stripEstimates(n: CNode): CNode {
  const { handles: _h, initialWidth: _w, initialHeight: _ht, ...rest } = n;
  return rest as CNode;
}
type Tab = 'node' | 'problems' | 'simulator' | 'history';

export default function Editor({ flowId }: { flowId: string }) {
  const data = useLoad(
    async (signal) => {
      const [flow, types] = await Promise.all([
        take(`flow:${flowId}`, () => api.get('/chat-flow/flows/{flow_id}/', { path: { flow_id: flowId }, signal })),
        take('node-types', () => api.get('/chat-flow/node-types/', { signal })),
      ]);
      return { flow, types: types.results ?? [] };
    },
    [flowId],
  );
  if (data.error)
    return (
      <div className="page">
        <p>
          <Link to="/flows">← Flows</Link>
        </p>
        <ErrorBanner error={data.error} />
      </div>
    );
  if (!data.data) return <div className="loading">Loading flow…</div>;
  performance.mark('parley:flow-loaded');
  return (
    <ReactFlowProvider>
      <Canvas initial={data.data.flow} types={data.data.types} />
    </ReactFlowProvider>
  );
}

function Canvas({ initial, types }: { initial: Flow; types: NodeTypeSpec[] }) {
  const me = useMe();
  // A phone is too narrow to edit a graph: the canvas is view-only there.
  const narrow = useMedia(PHONE);
  const readOnly = !canEdit(me) || narrow;
  const { theme } = useTheme();
  const toast = useToast();
  const rf = useReactFlow();
  const specs = useMemo(() => new Map(types.map((t) => [t.type, t])), [types]);
  const [flow, setFlow] = useState(initial);
  useTitle(flow.name);
  const first = useMemo(() => {
    const c = toCanvas(initial.flow_data as FlowDoc, specs);
    // Big flows open around Start instead of fitting everything, and carry
    // estimated sizes and handle positions so the canvas renders only the
    // nodes in view (React Flow otherwise renders every node once to measure it).
    if (c.nodes.length > BIG_FLOW) c.nodes = c.nodes.map((n) => withEstimates(n, specs));
    // A flow made through the API without positions is laid out, not stacked.
    const docNodes = (initial.flow_data as FlowDoc | null)?.nodes ?? [];
    if (docNodes.length > 1 && docNodes.every((n) => !n.position)) c.nodes = autoLayout(c.nodes, c.edges, specs);
    return c;
  }, [initial, specs]);
  const [nodes, setNodes] = useState<CNode[]>(first.nodes);
  const [edges, setEdges] = useState<CEdge[]>(first.edges);
  const nodesRef = useRef(nodes);
  const edgesRef = useRef(edges);
  nodesRef.current = nodes;
  edgesRef.current = edges;
  const [problems, setProblems] = useState<Problem[]>(initial.problems ?? []);
  const [rev, setRev] = useState(0);
  const [savedRev, setSavedRev] = useState(0);
  const dirty = rev !== savedRev;
  const past = useRef<Snapshot[]>([]);
  const future = useRef<Snapshot[]>([]);
  const lastKey = useRef<{ key: string; at: number }>({ key: '', at: 0 });
  const clip = useRef<Snapshot | null>(null);
  const [tab, setTab] = useState<Tab>('node');
  const [plusEdge, setPlusEdge] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [settings, setSettings] = useState(false);
  const [askAI, setAskAI] = useState(false);
  const [analytics, setAnalytics] = useState<Schemas['Analytics'] | null>(null);
  const [simPath, setSimPath] = useState<{ path: Set<string>; current: string }>({ path: new Set(), current: '' });
  const wrapper = useRef<HTMLDivElement>(null);

  // ---- history ----
  const pushHistory = useCallback((key = '') => {
    const now = Date.now();
    if (key && lastKey.current.key === key && now - lastKey.current.at < 1200) {
      lastKey.current.at = now;
      return;
    }
    lastKey.current = { key, at: now };
    past.current.push({ nodes: nodesRef.current, edges: edgesRef.current });
    if (past.current.length > 200) past.current.shift();
    future.current = [];
  }, []);
  const apply = useCallback(
    (n: CNode[], e: CEdge[], key = '') => {
      pushHistory(key);
      setNodes(n);
      setEdges(e);
      setRev((r) => r + 1);
    },
    [pushHistory],
  );
  const undo = useCallback(() => {
    const s = past.current.pop();
    if (!s) return;
    future.current.push({ nodes: nodesRef.current, edges: edgesRef.current });
    lastKey.current = { key: '', at: 0 };
    setNodes(s.nodes);
    setEdges(s.edges);
    setRev((r) => r + 1);
  }, []);
  const redo = useCallback(() => {
    const s = future.current.pop();
    if (!s) return;
    past.current.push({ nodes: nodesRef.current, edges: edgesRef.current });
    setNodes(s.nodes);
    setEdges(s.edges);
    setRev((r) => r + 1);
  }, []);

  // ---- canvas events ----
  const onNodesChange = useCallback(
    (changes: NodeChange<CNode>[]) => {
      if (readOnly) changes = changes.filter((c) => c.type === 'select' || c.type === 'dimensions');
      const meaningful = changes.some((c) => c.type === 'remove' || c.type === 'add' || (c.type === 'position' && !c.dragging && c.position));
      if (changes.some((c) => c.type === 'remove')) pushHistory();
      const measured = new Set(changes.filter((c) => c.type === 'dimensions').map((c) => (c as { id: string }).id));
      setNodes((ns) => {
        const out = applyNodeChanges(changes, ns);
        // Once React Flow has measured a node, drop the estimates.
        return measured.size ? out.map((n) => (measured.has(n.id) && n.handles ? stripEstimates(n) : n)) : out;
      });
      if (meaningful) setRev((r) => r + 1);
    },
    [pushHistory, readOnly],
  );
  const onEdgesChange = useCallback(
    (changes: EdgeChange<CEdge>[]) => {
      if (readOnly) changes = changes.filter((c) => c.type === 'select');
      const removing = changes.some((c) => c.type === 'remove');
      if (removing) pushHistory('remove-edges');
      setEdges((es) => applyEdgeChanges(changes, es));
      if (removing) setRev((r) => r + 1);
    },
    [pushHistory, readOnly],
  );
  const connect = useCallback(
    (source: string, handle: string | null, target: string) => {
      const es = edgesRef.current.filter((e) => !(e.source === source && (e.sourceHandle ?? null) === handle));
      if (target) es.push({ id: nextEdgeId(edgesRef.current.map((e) => e.id)), source, sourceHandle: handle, target, type: 'parley' });
      apply(nodesRef.current, es);
    },
    [apply],
  );
  const onConnect = useCallback((c: Connection) => connect(c.source, c.sourceHandle ?? null, c.target), [connect]);

  const selectOnly = (ns: CNode[], id: string) => ns.map((n) => (n.id === id ? { ...n, selected: true } : n.selected ? { ...n, selected: false } : n));
  const addNode = useCallback(
    (kind: string, at?: { x: number; y: number }) => {
      const id = nextNodeId(kind, nodesRef.current.map((n) => n.id));
      const node: CNode = { id, type: 'parley', position: { x: 0, y: 0 }, data: { kind, cfg: defaultCfg(specs.get(kind)) } };
      if (plusEdge) {
        const e = edgesRef.current.find((x) => x.id === plusEdge);
        const s = nodesRef.current.find((n) => n.id === e?.source);
        const t = nodesRef.current.find((n) => n.id === e?.target);
        if (s && t) node.position = { x: (s.position.x + t.position.x) / 2 + 40, y: (s.position.y + t.position.y) / 2 };
        const r = insertOnEdge(nodesRef.current, edgesRef.current, plusEdge, node, specs.get(kind));
        apply(selectOnly(r.nodes, id), r.edges);
        setPlusEdge(null);
      } else {
        if (at) node.position = at;
        else {
          const rect = wrapper.current?.getBoundingClientRect();
          const c = rect ? rf.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 3 }) : { x: 0, y: 0 };
          const jitter = (nodesRef.current.length % 5) * 24;
          node.position = { x: c.x - 120 + jitter, y: c.y + jitter };
        }
        apply(selectOnly([...nodesRef.current, node], id), edgesRef.current);
      }
      setTab('node');
    },
    [apply, plusEdge, rf, specs],
  );
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const kind = e.dataTransfer.getData('application/parley-node');
    if (!kind || readOnly) return;
    addNode(kind, rf.screenToFlowPosition({ x: e.clientX - 100, y: e.clientY - 20 }));
  };

  const updateCfg = useCallback(
    (id: string, cfg: Cfg) => {
      const n = nodesRef.current.find((x) => x.id === id);
      if (!n) return;
      const spec = specs.get(n.data.kind);
      const before = exitsOf(spec, n.data.cfg);
      const after = exitsOf(spec, cfg);
      const es = reconcileExits(id, before, after, edgesRef.current);
      apply(
        nodesRef.current.map((x) => (x.id === id ? { ...x, data: { kind: x.data.kind, cfg } } : x)),
        es,
        `cfg:${id}`,
      );
    },
    [apply, specs],
  );
  const deleteNode = (id: string) => apply(nodesRef.current.filter((n) => n.id !== id), edgesRef.current.filter((e) => e.source !== id && e.target !== id));
  const duplicate = (id: string) => {
    const n = nodesRef.current.find((x) => x.id === id);
    if (!n) return;
    const r = pasteClip({ nodes: [n], edges: [] }, nodesRef.current, edgesRef.current);
    apply(r.nodes, r.edges);
  };
  const focusNode = useCallback(
    (id: string) => {
      const n = nodesRef.current.find((x) => x.id === id);
      if (!n) return;
      setNodes((ns) => selectOnly(ns, id));
      void rf.setCenter(n.position.x + 120, n.position.y + 60, { zoom: Math.max(rf.getZoom(), 0.9), duration: 300 });
      setTab('node');
    },
    [rf],
  );
  /** Fits every node in view, from positions and (measured or estimated) sizes: React Flow's own fitView waits until every node was measured, which never happens when only the visible ones render. */
  const fitAll = useCallback(
    (duration = 300) => {
      const ns = nodesRef.current;
      if (!ns.length) return;
      let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
      for (const n of ns) {
        const w = n.measured?.width ?? NODE_WIDTH;
        const h = n.measured?.height ?? estimateHeight(n, specs);
        x0 = Math.min(x0, n.position.x);
        y0 = Math.min(y0, n.position.y);
        x1 = Math.max(x1, n.position.x + w);
        y1 = Math.max(y1, n.position.y + h);
      }
      void rf.fitBounds({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, { padding: 0.08, duration });
    },
    [rf, specs],
  );
  const layout = () => {
    apply(autoLayout(nodesRef.current, edgesRef.current, specs), edgesRef.current);
    setTimeout(() => fitAll(), 50);
  };

  // ---- live validation ----
  useEffect(() => {
    if (rev === 0) return;
    const ac = new AbortController();
    const t = setTimeout(() => {
      api
        .post('/chat-flow/flows/{flow_id}/validate/', { path: { flow_id: flow.id }, body: { flow_data: fromCanvas(nodesRef.current, edgesRef.current) }, signal: ac.signal })
        .then((v) => setProblems(v.problems ?? []), () => {});
    }, 600);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
  }, [rev, flow.id]);

  // ---- save / publish ----
  const save = useCallback(
    async (opts: { publish?: boolean; version?: number } = {}): Promise<boolean> => {
      if (readOnly) return false;
      setBusy(true);
      setError(null);
      const atRev = rev;
      const doc = fromCanvas(nodesRef.current, edgesRef.current);
      const version = opts.version ?? flow.version;
      try {
        if (opts.publish) {
          const v = await api.post('/chat-flow/flows/{flow_id}/validate/', { path: { flow_id: flow.id }, body: { flow_data: doc } });
          setProblems(v.problems ?? []);
          if (v.errors > 0) {
            setTab('problems');
            toast(`Not published: fix the ${v.errors} error${v.errors > 1 ? 's' : ''} listed under Problems first.`, 'error');
            return false;
          }
        }
        const f = await api.put('/chat-flow/flows/{flow_id}/', {
          path: { flow_id: flow.id },
          body: { version, flow_data: doc, ...(opts.publish ? { is_active: true } : {}) },
          headers: { 'If-Match': `"${version}"` },
        });
        setFlow(f);
        setProblems(f.problems ?? []);
        setSavedRev(atRev);
        toast(opts.publish ? `Published revision ${f.revision}` : 'Saved');
        return true;
      } catch (e) {
        if (e instanceof ApiError && e.status === 409 && e.body.current_version !== undefined) {
          setConflict(e.body as unknown as Conflict);
        } else if (e instanceof ApiError && e.status === 422 && e.errors.length) {
          setProblems(e.errors.map((x) => ({ severity: (x.severity as 'error') ?? 'error', code: x.code ?? '', message: x.message ?? '', pointer: x.pointer ?? '', node_id: x.node_id, edge_id: x.edge_id })));
          setTab('problems');
          setError(e);
        } else setError(e);
        return false;
      } finally {
        setBusy(false);
      }
    },
    [flow, readOnly, rev, toast],
  );
  const unpublish = async () => {
    try {
      const f = await api.post('/chat-flow/flows/{flow_id}/unpublish/', { path: { flow_id: flow.id } });
      setFlow(f);
      toast('Unpublished: no new sessions start');
    } catch (e) {
      setError(e);
    }
  };
  const exportJson = async () => {
    try {
      const doc = await api.get('/chat-flow/flows/{flow_id}/export/', { path: { flow_id: flow.id } });
      const text = typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2);
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
      a.download = `${flow.name.replace(/[^\w.-]+/g, '_') || 'flow'}.flow.json`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    } catch (e) {
      setError(e);
    }
  };
  const reloadFrom = (f: Flow) => {
    const c = toCanvas(f.flow_data as FlowDoc, specs);
    past.current = [];
    future.current = [];
    setFlow(f);
    setNodes(c.nodes);
    setEdges(c.edges);
    setProblems(f.problems ?? []);
    setRev((r) => {
      setSavedRev(r + 1);
      return r + 1;
    });
  };
  const toggleAnalytics = async () => {
    if (analytics) {
      setAnalytics(null);
      return;
    }
    try {
      setAnalytics(await api.get('/chat-flow/analytics/', { query: { flow: flow.id } }));
    } catch (e) {
      setError(e);
    }
  };

  // ---- keyboard ----
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const k = e.key.toLowerCase();
      if (k === 's') {
        e.preventDefault();
        void save();
        return;
      }
      const t = e.target as HTMLElement;
      if (t.closest('input, textarea, select, [contenteditable=true]')) return;
      if (k === 'z' && !e.shiftKey) {
        e.preventDefault();
        undo();
      } else if ((k === 'z' && e.shiftKey) || k === 'y') {
        e.preventDefault();
        redo();
      } else if (k === 'c') {
        clip.current = copySelection(nodesRef.current, edgesRef.current);
      } else if (k === 'v' && clip.current && !readOnly) {
        e.preventDefault();
        const r = pasteClip(clip.current, nodesRef.current, edgesRef.current);
        apply(r.nodes, r.edges);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [save, undo, redo, apply, readOnly]);
  useEffect(() => {
    const warn = (e: BeforeUnloadEvent) => {
      if (dirty) e.preventDefault();
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  // ---- derived ----
  const problemsByNode = useMemo(() => {
    const m = new Map<string, Problem[]>();
    for (const p of problems) if (p.node_id) m.set(p.node_id, [...(m.get(p.node_id) ?? []), p]);
    return m;
  }, [problems]);
  const onTrace = useCallback((path: string[], current: string) => setSimPath({ path: new Set(path), current }), []);
  // Where each node's exits lead, for the nodes' screen-reader description;
  // keyed on the connections only, so selecting an edge changes no node.
  const linksKey = edges.map((e) => `${e.source}\u0000${e.sourceHandle ?? ''}\u0000${e.target}`).join('\u0001');
  const exitTargets = useMemo(() => {
    const m = new Map<string, Map<string, string>>();
    for (const l of linksKey ? linksKey.split('\u0001') : []) {
      const [src, handle, target] = l.split('\u0000');
      if (!m.has(src)) m.set(src, new Map());
      m.get(src)!.set(handle, target);
    }
    return m;
  }, [linksKey]);
  const shownNodes = useMemo(
    () =>
      nodes.map((n) => {
        const d = describeNode(n.id, n.data, specs.get(n.data.kind), exitTargets.get(n.id), problemsByNode.get(n.id));
        return nodeA11y(n, d.label, d.description);
      }),
    [nodes, specs, exitTargets, problemsByNode],
  );
  const ctx: CanvasInfo = useMemo(
    () => ({
      specs,
      problems: problemsByNode,
      analytics: analytics ? new Map((analytics.nodes ?? []).map((n) => [n.node_id, n])) : null,
      transitions: analytics ? new Map((analytics.edges ?? []).map((e) => [e.edge_id, e.transitions])) : null,
      path: simPath.path,
      current: simPath.current,
      onPlus: (id: string) => setPlusEdge(id),
      readOnly,
    }),
    [specs, problemsByNode, analytics, simPath, readOnly],
  );
  const selected = nodes.filter((n) => n.selected);
  const sel = selected.length === 1 ? selected[0] : null;
  // Dragging changes positions only: keep what the side panel gets stable then,
  // so a drag re-renders neither the form nor its node pickers.
  const datas = useShallowStable(nodes.map((n) => n.data));
  const idsKey = useShallowStable(nodes.map((n) => n.id));
  const variables = useMemo(() => collectVariables(datas.map((data) => ({ data })), specs), [datas, specs]);
  const targets = useMemo(
    () => idsKey.map((id, i) => ({ id, label: `${id} (${specs.get(datas[i]?.kind)?.label ?? datas[i]?.kind})` })),
    [idsKey, datas, specs],
  );
  const selOut = useShallowStable(sel ? edges.filter((e) => e.source === sel.id).map((e) => `${e.sourceHandle ?? ''}\u0000${e.target}`) : []);
  const edgeTargets = useMemo(() => new Map(selOut.map((k) => k.split('\u0000') as [string, string])), [selOut]);
  const selId = sel?.id ?? '';
  const onFormChange = useCallback((cfg: Cfg) => updateCfg(selId, cfg), [updateCfg, selId]);
  const onFormConnect = useCallback((exit: string, target: string) => connect(selId, exit, target), [connect, selId]);
  const onFormDelete = useCallback(() => deleteNode(selId), [selId]); // eslint-disable-line react-hooks/exhaustive-deps
  const onFormDuplicate = useCallback(() => duplicate(selId), [selId]); // eslint-disable-line react-hooks/exhaustive-deps
  const errors = problems.filter((p) => p.severity === 'error').length;
  const big = nodes.length > BIG_FLOW;

  return (
    <div className="editor">
      <button
        type="button"
        className="canvas-skip"
        onClick={() => {
          const first = wrapper.current?.querySelector<HTMLElement>('.react-flow__node[data-id="start"]') ?? wrapper.current?.querySelector<HTMLElement>('.react-flow__node');
          first?.focus();
        }}
      >
        Skip to the flow’s nodes
      </button>
      <div className="editor-bar">
        <Link to="/flows" className="back" aria-label="Back to flows">
          ←
        </Link>
        <h1 className="flow-name">{flow.name}</h1>
        <Badge kind={flow.status}>{flow.status}</Badge>
        {flow.revision > 0 && <span className="muted small">live revision {flow.revision}</span>}
        <span className="muted small" aria-live="polite">
          {dirty ? 'Unsaved changes' : 'All changes saved'}
        </span>
        <div className="spacer" />
        {!readOnly && (
          <>
            <button type="button" onClick={undo} aria-label="Undo" title="Undo (Ctrl+Z)">
              ↶
            </button>
            <button type="button" onClick={redo} aria-label="Redo" title="Redo (Ctrl+Shift+Z)">
              ↷
            </button>
            <button type="button" onClick={layout}>
              Auto-layout
            </button>
          </>
        )}
        <button type="button" onClick={() => fitAll()}>
          Zoom to fit
        </button>
        <button type="button" aria-pressed={!!analytics} onClick={() => void toggleAnalytics()}>
          Analytics
        </button>
        <button type="button" onClick={() => void exportJson()}>
          Export JSON
        </button>
        {!readOnly && (
          <>
            <button type="button" onClick={() => setAskAI(true)}>
              Ask AI to change…
            </button>
            <button type="button" onClick={() => setSettings(true)}>
              Settings
            </button>
            {flow.status === 'published' && (
              <button type="button" onClick={() => void unpublish()}>
                Unpublish
              </button>
            )}
            <button type="button" disabled={busy} onClick={() => void save()} title="Save (Ctrl+S)">
              Save
            </button>
            <button type="button" className="primary" disabled={busy} onClick={() => void save({ publish: true })}>
              Save and publish
            </button>
          </>
        )}
      </div>
      <ErrorBanner error={error} onDismiss={() => setError(null)} />
      {narrow && canEdit(me) && (
        <p className="notice narrow-notice" role="note">
          Editing a flow needs a wider screen (at least 721 px): here you can view it, read its nodes and run the simulator. Open it on a computer or tablet to change it.
        </p>
      )}
      {analytics && (
        <div className="analytics-bar" role="status">
          Analytics (live revision): {analytics.sessions?.started ?? 0} started · {analytics.sessions?.completed ?? 0} completed · {analytics.sessions?.expired ?? 0} expired ·{' '}
          {analytics.sessions?.failed ?? 0} failed
          <button type="button" className="link" onClick={() => void api.get('/chat-flow/analytics/', { query: { flow: flow.id } }).then(setAnalytics, setError)}>
            Refresh
          </button>
          {!(analytics.sessions?.started ?? 0) && (
            <p className="analytics-hint">
              No real conversations yet. Simulator sessions are not counted: publish the flow and talk to it on a channel (the sandbox channel of <code>parley serve --sandbox</code>, web chat or WhatsApp) to see visits and drop-offs here.
            </p>
          )}
        </div>
      )}
      <div className="editor-body">
        {!readOnly && <Palette types={types} inserting={!!plusEdge} onCancelInsert={() => setPlusEdge(null)} onAdd={(k) => addNode(k)} />}
        <div className="canvas" ref={wrapper} onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
          <CanvasCtx.Provider value={ctx}>
            <ReactFlow<CNode, CEdge>
              nodes={shownNodes}
              edges={edges}
              colorMode={theme}
              edgesFocusable={false}
              nodeTypes={nodeTypes}
              edgeTypes={edgeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onNodeDragStart={() => pushHistory()}
              nodesDraggable={!readOnly}
              nodesConnectable={!readOnly}
              deleteKeyCode={readOnly ? null : ['Delete', 'Backspace']}
              defaultViewport={{ x: 0, y: 0, zoom: 1 }}
              minZoom={0.05}
              onlyRenderVisibleElements={big}
              defaultEdgeOptions={{ type: 'parley' }}
              proOptions={{ hideAttribution: true }}
              onInit={(inst) => {
                // Open on the first screen around Start at a readable zoom
                // (text legible, handles big enough to grab), not the whole
                // flow shrunk to fit; Zoom to fit shows everything.
                const r = wrapper.current?.getBoundingClientRect();
                const v = r && firstScreen(first.nodes, first.edges, specs, { width: r.width, height: r.height });
                if (v) void inst.setViewport(v);
                performance.mark('parley:canvas-ready');
              }}
            >
              <Background gap={20} />
              <Controls showInteractive={false} showFitView={false} />
              <MiniMap pannable zoomable ariaLabel="Minimap" nodeStrokeWidth={2} />
              {big && <LevelOfDetail target={wrapper} />}
            </ReactFlow>
          </CanvasCtx.Provider>
        </div>
        <aside className="side">
          <Tabs
            label="Side panel"
            idBase="side"
            value={tab}
            onChange={setTab}
            items={[
              { id: 'node', label: 'Properties' },
              { id: 'problems', label: `Problems${problems.length ? ` (${problems.length})` : ''}`, className: errors ? 'has-errors' : undefined },
              { id: 'simulator', label: 'Simulator' },
              { id: 'history', label: 'History' },
            ]}
          />
          <TabPanel idBase="side" value={tab} className="side-body">
            {tab === 'node' &&
              (sel ? (
                <NodeForm
                  key={sel.id}
                  nodeId={sel.id}
                  kind={sel.data.kind}
                  cfg={sel.data.cfg}
                  spec={specs.get(sel.data.kind)}
                  variables={variables}
                  problems={problemsByNode.get(sel.id) ?? NO_PROBLEMS}
                  targets={targets}
                  edgeTargets={edgeTargets}
                  onChange={onFormChange}
                  onConnect={onFormConnect}
                  onDelete={onFormDelete}
                  onDuplicate={onFormDuplicate}
                  readOnly={readOnly}
                />
              ) : (
                <div className="muted small">
                  <p>Select a node to edit it. {readOnly ? '' : 'Drag a component from the palette onto the canvas, or select a connection and press + to insert one.'}</p>
                  <p>Connect a node’s exits (the chips at its bottom) to the next node’s input (top). Shortcuts: Ctrl+S save, Ctrl+Z / Ctrl+Shift+Z undo/redo, Ctrl+C / Ctrl+V copy/paste, Delete removes the selection.</p>
                </div>
              ))}
            {tab === 'problems' && <ProblemList problems={problems} onFocus={focusNode} />}
            {tab === 'simulator' && (
              <Simulator
                flowId={flow.id}
                prepare={async () => (dirty && !readOnly ? save() : true)}
                onTrace={onTrace}
                onFocusNode={focusNode}
              />
            )}
            {tab === 'history' && (
              <Revisions
                flow={flow}
                dirty={dirty}
                onRestored={(f) => {
                  reloadFrom(f);
                  toast('Revision restored into the draft; publish to make it live');
                }}
              />
            )}
          </TabPanel>
        </aside>
      </div>
      {conflict && (
        <ConflictDialog
          conflict={conflict}
          onClose={() => setConflict(null)}
          onLoadTheirs={() => {
            reloadFrom(conflict.current as Flow);
            setConflict(null);
          }}
          onOverwrite={() => {
            const v = conflict.current_version;
            setConflict(null);
            void save({ version: v });
          }}
          onDownloadMine={() => {
            const a = document.createElement('a');
            a.href = URL.createObjectURL(new Blob([JSON.stringify(fromCanvas(nodesRef.current, edgesRef.current), null, 2)], { type: 'application/json' }));
            a.download = `${flow.name}-my-changes.json`;
            a.click();
          }}
        />
      )}
      {askAI && (
        <AskChange
          flowId={flow.id}
          base={fromCanvas(nodesRef.current, edgesRef.current)}
          specs={specs}
          dirty={dirty}
          save={() => save()}
          onClose={() => setAskAI(false)}
          onAccepted={(f) => {
            // The accepted change is the saved draft now: show it (undo
            // brings back what was there before, as an unsaved change).
            pushHistory();
            const c = toCanvas(f.flow_data as FlowDoc, specs);
            setNodes(c.nodes);
            setEdges(c.edges);
            setFlow(f);
            setProblems(f.problems ?? []);
            const next = rev + 1;
            setRev(next);
            setSavedRev(next);
            setAskAI(false);
          }}
        />
      )}
      {settings && (
        <FlowSettingsDialog
          flow={flow}
          onClose={() => setSettings(false)}
          onSaved={(f) => {
            setFlow((cur) => ({ ...f, flow_data: cur.flow_data }));
            setSettings(false);
            toast('Settings saved');
          }}
        />
      )}
    </div>
  );
}

/** Zoomed far out in a big flow, nodes skip painting their text: text is unreadable there and painting it is most of a frame. */
function LevelOfDetail({ target }: { target: React.RefObject<HTMLDivElement | null> }) {
  const far = useStore((st) => st.transform[2] < 0.45);
  useEffect(() => {
    const el = target.current;
    el?.classList.toggle('lod', far);
    return () => el?.classList.remove('lod');
  }, [far, target]);
  return null;
}

function Palette({ types, onAdd, inserting, onCancelInsert }: { types: NodeTypeSpec[]; onAdd: (kind: string) => void; inserting: boolean; onCancelInsert: () => void }) {
  const [q, setQ] = useState('');
  return (
    <nav className="palette" aria-label="Components">
      {inserting && (
        <div className="inserting" role="status">
          Pick a component to insert on the connection.{' '}
          <button type="button" className="link" onClick={onCancelInsert}>
            Cancel
          </button>
        </div>
      )}
      <input type="search" aria-label="Filter components" placeholder="Filter…" value={q} onChange={(e) => setQ(e.target.value)} />
      {paletteGroups(types).map(([g, label]) => {
        const items = types.filter((t) => t.group === g && t.palette && (!q || t.label.toLowerCase().includes(q.toLowerCase())));
        if (!items.length) return null;
        return (
          <section key={g} aria-label={label}>
            <h4>{label}</h4>
            {items.map((t) => (
              <button
                key={t.type}
                type="button"
                className={`pal-item g-${g}`}
                draggable
                title={`${t.description}${t.available ? '' : ` (not available: ${t.unavailable_reason ?? 'not run by this build'})`} — drag onto the canvas or click to add`}
                onDragStart={(e) => {
                  e.dataTransfer.setData('application/parley-node', t.type);
                  e.dataTransfer.effectAllowed = 'move';
                }}
                onClick={() => onAdd(t.type)}
              >
                {t.label}
                {!t.available && <span className="muted small"> (unavailable)</span>}
              </button>
            ))}
          </section>
        );
      })}
    </nav>
  );
}

function ProblemList({ problems, onFocus }: { problems: Problem[]; onFocus: (id: string) => void }) {
  if (!problems.length) return <p className="muted">No problems: the flow can be published.</p>;
  const sorted = [...problems].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  return (
    <ul className="problem-list" aria-label="Problems">
      {sorted.map((p, i) => (
        <li key={i} className={p.severity}>
          <span className={`sev ${p.severity}`}>{p.severity}</span>{' '}
          {p.node_id ? (
            <button type="button" className="link" onClick={() => onFocus(p.node_id!)}>
              {p.node_id}
            </button>
          ) : null}{' '}
          {p.message} <code className="muted small">{p.code}</code>
        </li>
      ))}
    </ul>
  );
}

export { errorMessage };
