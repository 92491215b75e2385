import { memo } from 'react';
import { Handle, Position, type NodeProps, type Node } from '@xyflow/react';
import { exitsOf, type Cfg, type NodeTypeSpec } from './graph';
import { useCanvas, type Problem } from './context';

type Data = { kind: string; cfg: Cfg };

function summary(kind: string, c: Cfg): string {
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  switch (kind) {
    case 'start': {
      const t = (c.trigger ?? {}) as { type?: string; keywords?: string[] };
      return t.type === 'keyword' ? `Keyword: ${(t.keywords ?? []).join(', ')}` : `Trigger: ${t.type ?? 'manual'}`;
    }
    case 'message':
      return s(c.text) || (c.media ? `[${(c.media as Cfg).type} media]` : '');
    case 'end':
      return s(c.text);
    case 'wait_for_response':
      return `→ ${s(c.variable)}${c.validation ? ` (${(c.validation as Cfg).type})` : ''}`;
    case 'set_variable':
      return (Array.isArray(c.assignments) ? c.assignments : []).map((a) => `${(a as Cfg).variable} = ${(a as Cfg).value ?? ''}`).join('; ');
    case 'http_request':
      return `${s(c.method) || 'GET'} ${s(c.url)}`;
    case 'action':
      return `${s(c.action)} ${s(c.tag) || s(c.field) || s(c.assignee)}`;
    case 'delay':
      return `${c.seconds ?? '?'} s`;
    case 'handoff':
      return s(c.message);
    case 'template':
      return s(c.template_name) || s(c.template_id);
    case 'subflow':
      return s(c.flow_id);
    default:
      return s(c.text) || s(c.prompt) || s(c.body) || '';
  }
}

function FlowNodeImpl({ id, data, selected }: NodeProps<Node<Data>>) {
  const ctx = useCanvas();
  const spec = ctx.specs.get(data.kind);
  const exits = exitsOf(spec, data.cfg);
  const probs = ctx.problems.get(id);
  const errors = probs?.filter((p) => p.severity === 'error').length ?? 0;
  const warnings = (probs?.length ?? 0) - errors;
  const stat = ctx.analytics?.get(id);
  const cls = [
    'fnode',
    `g-${spec?.group ?? 'unknown'}`,
    selected ? 'selected' : '',
    errors ? 'has-errors' : warnings ? 'has-warnings' : '',
    ctx.path.has(id) ? 'in-path' : '',
    ctx.current === id ? 'sim-current' : '',
  ].join(' ');
  const text = summary(data.kind, data.cfg);
  return (
    <div className={cls}>
      {data.kind !== 'start' && <Handle type="target" position={Position.Top} className="h-in" />}
      <div className="fnode-head">
        <span className="fnode-type">{spec?.label ?? `Unknown: ${data.kind}`}</span>
        <span className="fnode-id">{id}</span>
      </div>
      {text && <div className="fnode-body">{text.length > 90 ? text.slice(0, 90) + '…' : text}</div>}
      {(errors > 0 || warnings > 0) && (
        <div className="fnode-problems" title={probs!.map((p) => p.message).join('\n')}>
          {errors > 0 && <span className="perr">{errors} error{errors > 1 ? 's' : ''}</span>}
          {warnings > 0 && <span className="pwarn">{warnings} warning{warnings > 1 ? 's' : ''}</span>}
        </div>
      )}
      {stat && (
        <div className="fnode-stats" aria-label={`${stat.visits} visits, ${stat.drop_offs} drop-offs`}>
          <span>{stat.visits} visits</span>
          <span>{stat.drop_offs} drop-offs</span>
        </div>
      )}
      {exits.length > 0 && (
        <ul className="fnode-exits">
          {exits.map((x) => (
            <li key={x.id} className={x.optional ? 'optional' : ''} title={x.label}>
              {x.label}
              <Handle type="source" position={Position.Bottom} id={x.id} className="h-out" />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export const FlowNode = memo(FlowNodeImpl);

// What a screen reader announces on a node (React Flow's focusable wrapper
// carries it as aria-label and aria-description): its type, id and
// summary, then its exits with where each leads, then its problems.
export function describeNode(
  id: string,
  data: Data,
  spec: NodeTypeSpec | undefined,
  targets: Map<string, string> | undefined,
  problems: Problem[] | undefined,
): { label: string; description: string } {
  const text = summary(data.kind, data.cfg);
  const exits = exitsOf(spec, data.cfg);
  const exitText = exits.length
    ? `Exits: ${exits.map((x) => `${x.label} ${targets?.get(x.id) ? `to ${targets.get(x.id)}` : 'not connected'}`).join('; ')}.`
    : 'No exits.';
  const probText = problems?.length ? ` Problems: ${problems.map((p) => `${p.severity} ${p.message}`).join('; ')}.` : '';
  return { label: `${spec?.label ?? data.kind} ${id}${text ? `: ${text.length > 90 ? text.slice(0, 90) + '…' : text}` : ''}`, description: exitText + probText };
}

// Decorated nodes are cached per node object and text, so a drag (which
// remakes one node) does not remake every other node for React Flow.
const decorated = new WeakMap<object, { key: string; node: object }>();
export function nodeA11y<N extends Node>(n: N, label: string, description: string): N {
  const key = label + '\u0000' + description;
  const hit = decorated.get(n);
  if (hit && hit.key === key) return hit.node as N;
  const node = { ...n, ariaLabel: label, domAttributes: { ...n.domAttributes, 'aria-description': description } } as N;
  decorated.set(n, { key, node });
  return node;
}
