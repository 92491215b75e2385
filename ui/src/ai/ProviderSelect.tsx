// Which provider an AI request uses, shown when the project has more than
// one: the first (default) is sent as "" so the server picks it.
import type { Provider } from './types';

export function ProviderSelect({ providers, value, onChange, id }: { providers: Provider[]; value: string; onChange: (id: string) => void; id: string }) {
  if (providers.length < 2) return null;
  return (
    <div className="field">
      <label htmlFor={id}>AI provider</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {providers.map((p, i) => (
          <option key={p.id} value={i === 0 ? '' : p.id}>
            {p.name} ({p.model}){i === 0 ? ' — default' : ''}
          </option>
        ))}
      </select>
    </div>
  );
}
