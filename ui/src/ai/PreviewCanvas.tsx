// A read-only canvas for a graph that is not (yet) a saved flow: a
// generated draft, or a proposed change with its diff highlighted. It reuses
// the editor's node and edge components, so a draft looks exactly as it
// will in the editor.
import { useMemo, useRef } from 'react';
import { Background, Controls, ReactFlow, ReactFlowProvider } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { FlowNode } from '../editor/FlowNode';
import { PlusEdge } from '../editor/PlusEdge';
import { CanvasCtx, type CanvasInfo, type Problem } from '../editor/context';
import { autoLayout, estimateHeight, firstScreen, NODE_WIDTH, toCanvas, type CEdge, type CNode, type FlowDoc, type NodeTypeSpec } from '../editor/graph';
import type { Mark } from './diff';

const nodeTypes = { parley: FlowNode };
const edgeTypes = { parley: PlusEdge };

export function PreviewCanvas({
  doc,
  specs,
  problems = [],
  nodeMarks,
  edgeMarks,
  label,
  height = 420,
  focus,
}: {
  doc: FlowDoc;
  specs: Map<string, NodeTypeSpec>;
  problems?: Problem[];
  nodeMarks?: Map<string, Mark>;
  edgeMarks?: Map<string, Mark>;
  label: string;
  height?: number;
  /** Nodes to open the view on (the changed ones); default: around Start. */
  focus?: string[];
}) {
  const wrapper = useRef<HTMLDivElement>(null);
  const { nodes, edges } = useMemo(() => {
    const c = toCanvas(doc, specs);
    let nodes: CNode[] = c.nodes;
    if (doc.nodes.length > 1 && doc.nodes.every((n) => !n.position)) nodes = autoLayout(nodes, c.edges, specs);
    nodes = nodes.map((n) => {
      const m = nodeMarks?.get(n.id);
      return { ...n, draggable: false, connectable: false, className: m && m !== 'same' ? `diff-${m}` : undefined };
    });
    const edges: CEdge[] = c.edges.map((e) => {
      const m = edgeMarks?.get(e.id);
      // A removed connection is drawn above the nodes (dashed, faded): an
      // added node often takes the place it ran through and would hide it.
      return { ...e, className: m && m !== 'same' ? `diff-${m}` : undefined, zIndex: m === 'removed' ? 1000 : m === 'added' ? 1 : 0 };
    });
    return { nodes, edges };
  }, [doc, specs, nodeMarks, edgeMarks]);
  const ctx = useMemo<CanvasInfo>(() => {
    const byNode = new Map<string, Problem[]>();
    for (const p of problems) if (p.node_id) byNode.set(p.node_id, [...(byNode.get(p.node_id) ?? []), p]);
    return { specs, problems: byNode, analytics: null, transitions: null, path: new Set(), current: '', onPlus: () => {}, readOnly: true };
  }, [specs, problems]);
  return (
    <div className="ai-canvas" style={{ height }} aria-label={label} role="figure" ref={wrapper}>
      <ReactFlowProvider>
        <CanvasCtx.Provider value={ctx}>
          <ReactFlow<CNode, CEdge>
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            edgeTypes={edgeTypes}
            nodesDraggable={false}
            nodesConnectable={false}
            elementsSelectable={false}
            deleteKeyCode={null}
            minZoom={0.05}
            onInit={(inst) => {
              // Readable from the start: the changed nodes, or Start and what
              // follows it, at a zoom where the text can be read.
              const r = wrapper.current?.getBoundingClientRect();
              if (!r) return;
              const v = (focus?.length ? focusView(nodes, new Set(focus), specs, r) : null) ?? firstScreen(nodes, edges, specs, r, 0.6);
              if (v) void inst.setViewport(v);
            }}
            proOptions={{ hideAttribution: true }}
          >
            <Background gap={20} />
            <Controls showInteractive={false} />
          </ReactFlow>
        </CanvasCtx.Provider>
      </ReactFlowProvider>
    </div>
  );
}

/** The viewport showing the focused nodes whole, between 50 % and 100 % zoom. */
export function focusView(nodes: CNode[], focus: Set<string>, specs: Map<string, NodeTypeSpec>, pane: { width: number; height: number }) {
  const box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  for (const n of nodes) {
    if (!focus.has(n.id)) continue;
    box.x0 = Math.min(box.x0, n.position.x);
    box.y0 = Math.min(box.y0, n.position.y);
    box.x1 = Math.max(box.x1, n.position.x + NODE_WIDTH);
    box.y1 = Math.max(box.y1, n.position.y + estimateHeight(n, specs));
  }
  if (box.x0 === Infinity) return null;
  const pad = 60;
  const zoom = Math.max(0.5, Math.min(1, (pane.width - 2 * pad) / (box.x1 - box.x0), (pane.height - 2 * pad) / (box.y1 - box.y0)));
  return { x: pane.width / 2 - ((box.x0 + box.x1) / 2) * zoom, y: pane.height / 2 - ((box.y0 + box.y1) / 2) * zoom, zoom };
}
