import { memo } from 'react';
import { BaseEdge, EdgeLabelRenderer, getBezierPath, type EdgeProps } from '@xyflow/react';
import { useCanvas } from './context';

/** An edge with a "+" to insert a node when selected, and its transition count in the analytics overlay. */
function PlusEdgeImpl({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, selected, markerEnd, style }: EdgeProps) {
  const ctx = useCanvas();
  const [path, lx, ly] = getBezierPath({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition });
  const count = ctx.transitions?.get(id);
  const showPlus = selected && !ctx.readOnly;
  return (
    <>
      <BaseEdge id={id} path={path} markerEnd={markerEnd} style={style} className={selected ? 'edge-selected' : ''} />
      {(showPlus || count !== undefined) && (
        <EdgeLabelRenderer>
          <div className="edge-label nodrag nopan" style={{ transform: `translate(-50%, -50%) translate(${lx}px, ${ly}px)` }}>
            {count !== undefined && <span className="edge-count">{count}</span>}
            {showPlus && (
              <button type="button" className="edge-plus" aria-label="Insert a node on this connection" onClick={() => ctx.onPlus(id)}>
                +
              </button>
            )}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}
export const PlusEdge = memo(PlusEdgeImpl);
