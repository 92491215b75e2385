// The preview's model of a WhatsApp Flow being filled in: which screen is
// open, what each screen received as data and what the author typed, and
// what the actions (navigate, data_exchange, update_data, open_url,
// complete) do. Pure functions over plain objects, so it is tested without
// a browser.
import { condition, resolve, type EvalCtx } from './expr';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface FlowComponent {
  type: string;
  name?: string;
  [prop: string]: unknown;
}

export interface FlowScreen {
  id: string;
  title?: string;
  terminal?: boolean;
  success?: boolean;
  refresh_on_back?: boolean;
  data?: Record<string, { type?: string; __example__?: unknown; [k: string]: unknown }>;
  layout?: { type?: string; children?: FlowComponent[] };
}

export interface FlowJSON {
  version?: string;
  data_api_version?: string;
  routing_model?: Record<string, string[]>;
  screens: FlowScreen[];
}

export interface FlowAction {
  name: string;
  next?: { type?: string; name?: string };
  payload?: Record<string, unknown>;
  url?: string;
}

export interface ScreenState {
  id: string;
  data: Record<string, unknown>;
  form: Record<string, unknown>;
}

export interface RunState {
  flow: FlowJSON;
  /** open screens, the current one last (Back pops). */
  stack: ScreenState[];
  /** the last state of every visited screen, for ${screen.S.…} references. */
  visited: Record<string, ScreenState>;
  /** set once a complete action ran. */
  completed?: { screen: string; payload: Record<string, unknown>; viaEndpoint?: boolean };
  /** what the last action did that the phone cannot show (an endpoint call, a link). */
  notice?: string;
}

/** parseFlow reads Flow JSON text (or an already parsed object). */
export function parseFlow(src: string | unknown): { flow?: FlowJSON; error?: string } {
  let v: unknown = src;
  if (typeof src === 'string') {
    try {
      v = JSON.parse(src);
    } catch (e) {
      return { error: `Not valid JSON: ${(e as Error).message}` };
    }
  }
  if (!v || typeof v !== 'object' || !Array.isArray((v as FlowJSON).screens) || (v as FlowJSON).screens.length === 0) {
    return { error: 'A Flow JSON document needs a "screens" array with at least one screen.' };
  }
  return { flow: v as FlowJSON };
}

/** childLists returns the nested component arrays of a component (all branches). */
export function childLists(c: FlowComponent): FlowComponent[][] {
  const lists: unknown[] = [];
  if (c.type === 'Form') lists.push(c.children);
  if (c.type === 'If') lists.push(c.then, c.else);
  if (c.type === 'Switch' && c.cases && typeof c.cases === 'object') lists.push(...Object.values(c.cases as object));
  return lists.filter(Array.isArray) as FlowComponent[][];
}

function walk(cs: FlowComponent[] | undefined, fn: (c: FlowComponent) => void) {
  for (const c of cs ?? []) {
    if (!c || typeof c !== 'object') continue;
    fn(c);
    for (const l of childLists(c)) walk(l, fn);
  }
}

/** actionsOf lists every action of a screen (to find navigate targets). */
export function actionsOf(screen: FlowScreen): FlowAction[] {
  const out: FlowAction[] = [];
  const add = (a: unknown) => {
    if (a && typeof a === 'object' && typeof (a as FlowAction).name === 'string') out.push(a as FlowAction);
  };
  walk(screen.layout?.children, (c) => {
    add(c['on-click-action']);
    add(c['on-select-action']);
    for (const key of ['data-source', 'list-items']) {
      const items = c[key];
      if (Array.isArray(items)) for (const it of items) if (it && typeof it === 'object') add((it as Record<string, unknown>)['on-click-action']);
    }
  });
  return out;
}

/** entryScreen is the screen nothing routes or navigates to (Meta's FIRST_ENTRY_SCREEN). */
export function entryScreen(flow: FlowJSON): FlowScreen {
  const inbound = new Set<string>();
  for (const next of Object.values(flow.routing_model ?? {})) for (const n of next ?? []) inbound.add(n);
  for (const s of flow.screens) for (const a of actionsOf(s)) if (a.name === 'navigate' && a.next?.name && a.next.name !== s.id) inbound.add(a.next.name);
  return flow.screens.find((s) => !inbound.has(s.id)) ?? flow.screens[0];
}

/** exampleData is a screen's sample data: the __example__ of every declared field. */
export function exampleData(screen: FlowScreen): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, decl] of Object.entries(screen.data ?? {})) if (decl && '__example__' in decl) out[k] = decl.__example__;
  return out;
}

export function screenById(flow: FlowJSON, id: string): FlowScreen | undefined {
  return flow.screens.find((s) => s.id === id);
}

export function ctxOf(state: RunState): EvalCtx {
  const cur = current(state);
  const screens: EvalCtx['screens'] = {};
  for (const [id, s] of Object.entries(state.visited)) screens[id] = { data: s.data, form: s.form };
  screens[cur.id] = { data: cur.data, form: cur.form };
  return { data: cur.data, form: cur.form, screens };
}

export function current(state: RunState): ScreenState {
  return state.stack[state.stack.length - 1];
}

/** initialForm gathers init-value properties and Form init-values. */
function initialForm(screen: FlowScreen, data: Record<string, unknown>): Record<string, unknown> {
  const ctx: EvalCtx = { data, form: {}, screens: {} };
  const form: Record<string, unknown> = {};
  walk(screen.layout?.children, (c) => {
    if (c.type === 'Form' && c['init-values'] && typeof c['init-values'] === 'object') {
      const iv = resolve(c['init-values'], ctx);
      if (iv && typeof iv === 'object') Object.assign(form, iv);
    }
    if (c.name && c['init-value'] !== undefined) form[c.name] = resolve(c['init-value'], ctx);
  });
  return form;
}

function open(flow: FlowJSON, id: string, data: Record<string, unknown>): ScreenState {
  const screen = screenById(flow, id);
  return { id, data, form: screen ? initialForm(screen, data) : {} };
}

/** start opens the entry screen with sample data (its __example__ values, overridden by sample). */
export function start(flow: FlowJSON, sample?: Record<string, unknown>): RunState {
  const entry = entryScreen(flow);
  const data = { ...exampleData(entry), ...(sample ?? {}) };
  return { flow, stack: [open(flow, entry.id, data)], visited: {} };
}

export function setField(state: RunState, name: string, value: unknown): RunState {
  const cur = current(state);
  const next = { ...cur, form: { ...cur.form, [name]: value } };
  return { ...state, stack: [...state.stack.slice(0, -1), next], notice: undefined };
}

export function back(state: RunState): RunState {
  if (state.stack.length <= 1) return state;
  const leaving = current(state);
  return { ...state, stack: state.stack.slice(0, -1), visited: { ...state.visited, [leaving.id]: leaving }, completed: undefined, notice: undefined };
}

/** runAction performs an action of the current screen. */
export function runAction(state: RunState, action: FlowAction): RunState {
  const ctx = ctxOf(state);
  const payload = (resolve(action.payload ?? {}, ctx) ?? {}) as Record<string, unknown>;
  const cur = current(state);
  const go = (id: string, data: Record<string, unknown>, notice?: string): RunState => ({
    ...state,
    stack: [...state.stack, open(state.flow, id, data)],
    visited: { ...state.visited, [cur.id]: cur },
    notice,
  });
  switch (action.name) {
    case 'navigate': {
      const id = action.next?.name ?? '';
      if (!screenById(state.flow, id)) return { ...state, notice: `navigate: there is no screen "${id}"` };
      return go(id, payload);
    }
    case 'complete':
      return { ...state, completed: { screen: cur.id, payload }, notice: undefined };
    case 'data_exchange': {
      // The preview has no endpoint: it shows the request and, when the
      // routing model allows one next screen, opens it with its sample data.
      const next = state.flow.routing_model?.[cur.id] ?? [];
      const sent = `data_exchange sent to your endpoint: ${JSON.stringify(payload)}`;
      if (next.length === 1) {
        const s = screenById(state.flow, next[0]);
        if (s) return go(s.id, exampleData(s), `${sent}; showing ${s.id} with its sample data`);
      }
      const here = screenById(state.flow, cur.id);
      if (!next.length && here?.terminal) {
        // From a terminal screen the endpoint closes the flow (screen SUCCESS) with its own params.
        return { ...state, completed: { screen: cur.id, payload, viaEndpoint: true }, notice: `${sent}; your endpoint answers SUCCESS with the response params` };
      }
      return { ...state, notice: next.length ? `${sent}; your endpoint picks the next screen (${next.join(', ')})` : sent };
    }
    case 'update_data': {
      const nextCur = { ...cur, data: { ...cur.data, ...payload } };
      return { ...state, stack: [...state.stack.slice(0, -1), nextCur], notice: undefined };
    }
    case 'open_url':
      return { ...state, notice: `Opens ${action.url ?? ''} in the browser` };
  }
  return { ...state, notice: `Unknown action "${action.name}"` };
}

/** isVisible evaluates a component's visible property. */
export function isVisible(c: FlowComponent, ctx: EvalCtx): boolean {
  if (c.visible === undefined) return true;
  const v = resolve(c.visible, ctx);
  return v !== false && v !== 'false';
}

/** shownChildren returns the components the client draws: If and Switch evaluated. */
export function shownChildren(cs: FlowComponent[] | undefined, ctx: EvalCtx): FlowComponent[] {
  const out: FlowComponent[] = [];
  for (const c of cs ?? []) {
    if (!c || typeof c !== 'object') continue;
    if (c.type === 'If') {
      const branch = condition(String(c.condition ?? ''), ctx) ? c.then : c.else;
      out.push(...shownChildren(branch as FlowComponent[] | undefined, ctx));
    } else if (c.type === 'Switch') {
      const key = String(resolve(c.value, ctx) ?? '');
      const cases = (c.cases ?? {}) as Record<string, FlowComponent[]>;
      out.push(...shownChildren(cases[key] ?? cases.default, ctx));
    } else if (c.type === 'Form') {
      out.push(...shownChildren(c.children as FlowComponent[] | undefined, ctx));
    } else if (isVisible(c, ctx)) {
      out.push(c);
    }
  }
  return out;
}

const empty = (v: unknown) => v === undefined || v === null || v === '' || v === false || (Array.isArray(v) && v.length === 0);

/** missingRequired lists the labels of required, shown inputs that are still empty (the Footer stays disabled). */
export function missingRequired(state: RunState): string[] {
  const cur = current(state);
  const screen = screenById(state.flow, cur.id);
  const ctx = ctxOf(state);
  const out: string[] = [];
  for (const c of shownChildren(screen?.layout?.children, ctx)) {
    if (!c.name) continue;
    const req = resolve(c.required, ctx);
    let need = req === true || req === 'true';
    if (c.type === 'PhotoPicker') need = Number(c['min-uploaded-photos'] ?? 0) > 0;
    if (c.type === 'DocumentPicker') need = Number(c['min-uploaded-documents'] ?? 0) > 0;
    if (need && empty(cur.form[c.name])) out.push(String(resolve(c.label, ctx) ?? c.name));
  }
  return out;
}
