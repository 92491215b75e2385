import { createContext, useContext } from 'react';
import type { Schemas } from '../api/client';
import type { NodeTypeSpec } from './graph';

export type Problem = Schemas['LintProblem'];

/** What nodes and edges read besides their own data: kept out of node data so a change re-renders cheaply. */
export interface CanvasInfo {
  specs: Map<string, NodeTypeSpec>;
  problems: Map<string, Problem[]>;
  analytics: Map<string, { visits: number; drop_offs: number }> | null;
  transitions: Map<string, number> | null;
  path: Set<string>;
  current: string;
  onPlus: (edgeId: string) => void;
  readOnly: boolean;
}

export const CanvasCtx = createContext<CanvasInfo>({
  specs: new Map(),
  problems: new Map(),
  analytics: null,
  transitions: null,
  path: new Set(),
  current: '',
  onPlus: () => {},
  readOnly: false,
});
export const useCanvas = () => useContext(CanvasCtx);
