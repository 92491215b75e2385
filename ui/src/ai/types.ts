// The AI routes' payloads (docs/ai.md; the streamed routes are not in the
// OpenAPI document, so their result types are written here).
import type { Schemas } from '../api/client';
import type { FlowDoc } from '../editor/graph';
import type { GraphDiff } from './diff';

export type Provider = Schemas['AIProviderView'];
export type CheckResult = Schemas['CheckResult'];
export type LintProblem = Schemas['LintProblem'];

export interface TestTurn {
  from: 'contact' | 'bot';
  text: string;
  buttons?: string[];
}
export interface TestRun {
  name: string;
  expect: string;
  status: string;
  passed: boolean;
  detail: string;
  turns: TestTurn[];
}
export interface Usage {
  calls: number;
  prompt_tokens: number;
  output_tokens: number;
}

/** The result of POST /ai/flows/generate: never saved. */
export interface Draft {
  name: string;
  flow_data: FlowDoc;
  lints: boolean;
  problems: LintProblem[];
  rounds: number;
  status: 'ready' | 'tests_failing' | 'has_problems';
  note: string;
  tests: TestRun[];
  usage: Usage;
}

/** The result of POST /ai/flows/{id}/edit: a proposed change, not saved. */
export interface Proposal {
  flow_id: string;
  base_version: number;
  summary: string;
  flow_data: FlowDoc;
  lints: boolean;
  problems: LintProblem[];
  base_errors: number;
  rounds: number;
  status: 'ready' | 'has_problems' | 'no_change';
  note: string;
  diff?: GraphDiff;
  usage?: Usage;
}

export interface FormProblem {
  error?: string;
  message: string;
  pointer?: string;
  line_start?: number;
  column_start?: number;
  severity?: string;
  source?: string;
}

/** The result of the WhatsApp Flow generate and update routes. */
export interface FormResult {
  status: 'ready' | 'has_problems';
  note: string;
  rounds: number;
  name: string;
  categories: string[];
  flow_json: string;
  problems: FormProblem[];
  flow: Schemas['WhatsAppFlowView'] | null;
  base_version?: number;
}

/** The result of POST /ai/whatsapp-flows/{id}/check. */
export interface FormCheck {
  wa_flow_id: string;
  valid: boolean;
  summary: string;
  problems: { source: string; severity: string; code: string; pointer?: string; line?: number; column?: number; message: string; text: string }[];
  synced_at?: string | null;
}
