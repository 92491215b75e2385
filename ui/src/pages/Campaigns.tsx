import { useState, type FormEvent } from 'react';
import { canEdit, useMe } from '../lib/auth';
import { Link, navigate, useTitle } from '../lib/router';
import { Badge, Dialog, Empty, ErrorBanner, timeAgo, useLoad } from '../components/ui';
import { campaignsApi, itemsOf } from '../campaigns/types';

/** The campaigns list: each with its status; "New campaign" creates a draft and opens it. */
export default function Campaigns() {
  useTitle('Campaigns');
  const me = useMe();
  const editor = canEdit(me);
  const list = useLoad((signal) => campaignsApi.list(signal), []);
  const [creating, setCreating] = useState(false);
  const campaigns = itemsOf(list.data);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Campaigns</h1>
        <div className="spacer" />
        {editor && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New campaign
          </button>
        )}
      </div>
      <ErrorBanner error={list.error} />
      {!list.loading && campaigns.length === 0 && !list.error ? (
        <Empty title="No campaigns yet">
          <p>A campaign runs a flow once for every contact of a CSV file: upload the file, map its phone column, pick the flow and the WhatsApp numbers, check, and start. You watch it progress live and read the report when it ends.</p>
          {editor && (
            <button type="button" className="primary" onClick={() => setCreating(true)}>
              Create your first campaign
            </button>
          )}
        </Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Datasets</th>
              <th>Channels</th>
              <th>Last change</th>
            </tr>
          </thead>
          <tbody>
            {campaigns.map((c) => (
              <tr key={c.id}>
                <td>
                  <Link to={`/campaigns/${c.id}`}>{c.name}</Link>
                  {c.description && <div className="muted small">{c.description}</div>}
                </td>
                <td>
                  <Badge kind={`c-${c.status}`}>{c.status}</Badge>
                  {c.status_reason && <div className="muted small">{c.status_reason}</div>}
                </td>
                <td>{c.dataset_ids?.length ?? 0}</td>
                <td>{c.channel_ids?.length ?? 0}</td>
                <td className="small">{timeAgo(c.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && <NewCampaignDialog onClose={() => setCreating(false)} />}
    </div>
  );
}

function NewCampaignDialog({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const c = await campaignsApi.create({ name, description });
      navigate(`/campaigns/${c.id}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog title="New campaign" onClose={onClose}>
      <form onSubmit={submit}>
        <ErrorBanner error={error} />
        <div className="field">
          <label htmlFor="nc-name">Name</label>
          <input id="nc-name" value={name} onChange={(e) => setName(e.target.value)} required placeholder="Spring survey" />
        </div>
        <div className="field">
          <label htmlFor="nc-desc">Description</label>
          <textarea id="nc-desc" rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
        </div>
        <p className="hint">Next: upload the contacts (CSV), choose the flow and the numbers, then start.</p>
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || !name.trim()}>
            Create campaign
          </button>
        </div>
      </form>
    </Dialog>
  );
}
