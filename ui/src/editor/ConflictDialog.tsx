import { Dialog } from '../components/ui';

export interface Conflict {
  detail: string;
  current_version: number;
  updated_by: string;
  updated_at: string;
  current: unknown;
}

/** Someone else saved first: show who and when, and let the user choose — never overwrite silently. */
export function ConflictDialog({
  conflict,
  onClose,
  onLoadTheirs,
  onOverwrite,
  onDownloadMine,
}: {
  conflict: Conflict;
  onClose: () => void;
  onLoadTheirs: () => void;
  onOverwrite: () => void;
  onDownloadMine: () => void;
}) {
  return (
    <Dialog title="Someone else saved this flow first" onClose={onClose}>
      <p>
        <strong>{conflict.updated_by || 'Another editor'}</strong> saved it at {new Date(conflict.updated_at).toLocaleString()} (version {conflict.current_version}). Your changes
        were not saved.
      </p>
      <p className="muted small">{conflict.detail}</p>
      <ul className="small">
        <li>
          <strong>Load their version</strong> discards your unsaved changes.
        </li>
        <li>
          <strong>Overwrite with mine</strong> replaces their changes with yours.
        </li>
      </ul>
      <div className="dialog-actions">
        <button type="button" onClick={onDownloadMine}>
          Download my changes
        </button>
        <button type="button" onClick={onLoadTheirs}>
          Load their version
        </button>
        <button type="button" className="danger" onClick={onOverwrite}>
          Overwrite with mine
        </button>
      </div>
    </Dialog>
  );
}
