// Test helpers: the built-in form templates, imported from the Go package
// that owns them (internal/waform/templates), so the preview is tested on
// the same documents the server offers.
import appointment_booking from '../../../internal/waform/templates/appointment_booking.json';
import lead_capture from '../../../internal/waform/templates/lead_capture.json';
import order_form from '../../../internal/waform/templates/order_form.json';
import sign_up from '../../../internal/waform/templates/sign_up.json';
import survey from '../../../internal/waform/templates/survey.json';
import type { FlowJSON } from './runtime';

const templates: Record<string, unknown> = { appointment_booking, lead_capture, order_form, sign_up, survey };

export function template(id: string): FlowJSON {
  return structuredClone(templates[id]) as FlowJSON;
}

/** nodeFS is the part of node:fs and node:path the fixture test needs (the UI's tsconfig has no Node types). */
export interface NodeFS {
  existsSync(p: string): boolean;
  readFileSync(p: string, enc: 'utf8'): string;
  readdirSync(p: string): string[];
}

export async function nodeFS(): Promise<{ fs: NodeFS; join: (...p: string[]) => string; dirname: (p: string) => string; here: string }> {
  const mod = (name: string) => import(/* @vite-ignore */ `node:${name}`);
  const fs = (await mod('fs')) as NodeFS;
  const path = (await mod('path')) as { join: (...p: string[]) => string; dirname: (p: string) => string };
  const url = (await mod('url')) as { fileURLToPath: (u: string) => string };
  return { fs, join: path.join, dirname: path.dirname, here: path.dirname(url.fileURLToPath(import.meta.url)) };
}
