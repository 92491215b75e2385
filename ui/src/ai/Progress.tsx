// The live progress of an AI route: one line per stage reached, the current
// one marked, with what the server said about it.
import type { Progress } from './sse';

const LABELS: Record<string, string> = {
  planning: 'Planning',
  drafting: 'Drafting',
  validating: 'Validating',
  repairing: 'Repairing',
  'test-running': 'Running test conversations',
  saving: 'Saving',
  done: 'Done',
};

/** A stage as shown: "Repairing 2/3", "Drafting (1500 characters)". */
export function stageLabel(p: Progress): string {
  let s = LABELS[p.stage] ?? p.stage;
  if (p.stage === 'repairing' && p.round) s += ` ${p.round}/${p.max_rounds ?? 3}`;
  if (p.chars) s += ` (${p.chars} characters)`;
  return s;
}

/** Folds a progress event into the list: a stage repeating (drafting's character count) updates its line. */
export function addProgress(list: Progress[], p: Progress): Progress[] {
  const last = list[list.length - 1];
  if (last && last.stage === p.stage && (last.round ?? 0) === (p.round ?? 0)) return [...list.slice(0, -1), { ...p, detail: p.detail || last.detail }];
  return [...list, p];
}

export function AIProgress({ steps, running, title = 'Progress' }: { steps: Progress[]; running: boolean; title?: string }) {
  if (!steps.length && !running) return null;
  return (
    <section className="ai-progress" aria-label={title} aria-live="polite">
      <ol>
        {steps.map((p, i) => {
          const current = running && i === steps.length - 1;
          return (
            <li key={i} className={current ? 'current' : 'done'} data-stage={p.stage}>
              <span className="ai-stage">{current ? '… ' : '✓ '}{stageLabel(p)}</span>
              {p.detail && <span className="muted small"> — {p.detail}</span>}
            </li>
          );
        })}
        {running && !steps.length && <li className="current">Connecting…</li>}
      </ol>
    </section>
  );
}
