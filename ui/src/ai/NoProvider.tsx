// What an AI entry point shows while the project has no provider: the
// server's problem says the same; here it comes with the way out.
import { Link } from '../lib/router';

export const NO_PROVIDER = 'no AI provider configured';

/** Whether an API error is the "no AI provider configured" problem. */
export function isNoProvider(e: unknown): boolean {
  return e instanceof Error && e.message.toLowerCase().startsWith(NO_PROVIDER);
}

export function NoProvider({ templates }: { templates?: { label: string; onClick: () => void } }) {
  return (
    <div className="notice ai-no-provider" role="note">
      <strong>No AI provider configured.</strong>{' '}
      <span>
        Add one — OpenAI, or a model on your own machine with Ollama, llama.cpp or vLLM — under <Link to="/settings">Settings → AI providers</Link>.
        {templates ? ' Meanwhile, the built-in templates are a good start: ' : ''}
      </span>
      {templates && (
        <button type="button" className="link" onClick={templates.onClick}>
          {templates.label}
        </button>
      )}
    </div>
  );
}
