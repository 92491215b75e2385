import { ErrorBanner, useLoad } from '../components/ui';
import { BarList, COLORS, Funnel, GroupedBars, TimeSeries } from './Charts';
import { pct } from './chartmath';
import { campaignsApi, type Campaign, type ChannelReport, type Report } from './types';

const nf = (n: number | undefined) => (n ?? 0).toLocaleString();

/** The campaign's report: delivery funnel, responses over time, failures by reason, template performance, flow outcomes and per-node funnel. */
export function ReportTab({ campaign }: { campaign: Campaign }) {
  const rep = useLoad((signal) => campaignsApi.report(campaign.id, signal), [campaign.id]);
  const r = rep.data;
  if (rep.error) return <ErrorBanner error={rep.error} />;
  if (!r) return <div className="loading">Computing the report…</div>;
  const t = r.totals;
  const fails = t.failed_by_reason ?? [];
  const templates = r.templates ?? [];
  const ends = r.outcomes.ends ?? [];
  const funnel = r.funnel ?? [];
  const channels = r.channels ?? [];
  return (
    <div className="report">
      <div className="row gap">
        <p className="muted small grow">Computed {new Date(r.generated_at).toLocaleString()} from the messages and sessions of this campaign.</p>
        <button type="button" onClick={rep.reload}>
          Refresh
        </button>
        <a className="button" href={campaignsApi.recipientsCsvUrl(campaign.id)} download>
          Download recipients (CSV)
        </a>
      </div>
      <div className="stat-row" aria-label="Totals">
        {(
          [
            ['Sessions', t.sessions, 'started'],
            ['Sent', t.sent, 'sent'],
            ['Delivered', t.delivered, 'delivered'],
            ['Read', t.read, 'read'],
            ['Replied', t.replied, 'replied'],
            ['Failed', t.failed, 'failed'],
          ] as const
        ).map(([label, v, key]) => (
          <div key={label} className="stat" style={{ borderTopColor: COLORS[key] }}>
            <strong data-stat={label.toLowerCase()}>{nf(v)}</strong>
            <span>{label}</span>
          </div>
        ))}
        <div className="stat">
          <strong>{t.response_rate}%</strong>
          <span>Response rate</span>
        </div>
      </div>
      <div className="report-grid">
        <section className="card">
          <h3>Delivery funnel</h3>
          <Funnel title="Delivery funnel" steps={deliverySteps(t)} />
        </section>
        <section className="card">
          <h3>Over time (hourly)</h3>
          <TimeSeries
            title="Messages and responses per hour"
            rows={r.hourly ?? []}
            series={[
              { key: 'sent', label: 'Sent', color: COLORS.sent },
              { key: 'read', label: 'Read', color: COLORS.read },
              { key: 'replies', label: 'Responses', color: COLORS.replied },
              { key: 'failed', label: 'Failed', color: COLORS.failed },
            ]}
          />
        </section>
        <section className="card">
          <h3>Failures by reason</h3>
          {fails.length === 0 ? (
            <p className="muted small">No message failed.</p>
          ) : (
            <BarList title="Failures by reason" items={fails.map((f) => ({ label: f.code || f.reason || 'unknown', value: f.count }))} />
          )}
          <ul className="small muted">
            {fails.map((f) => (
              <li key={f.code + f.reason}>
                <code>{f.code}</code> {f.reason}
              </li>
            ))}
          </ul>
        </section>
        <section className="card">
          <h3>Template performance</h3>
          <GroupedBars
            title="Template performance"
            groups={templates.map((tp) => ({ label: tp.name, values: { sent: tp.sent, delivered: tp.delivered, read: tp.read, replied: tp.replied, clicks: tp.button_clicks } }))}
            series={[
              { key: 'sent', label: 'Sent', color: COLORS.sent },
              { key: 'delivered', label: 'Delivered', color: COLORS.delivered },
              { key: 'read', label: 'Read', color: COLORS.read },
              { key: 'replied', label: 'Replied', color: COLORS.replied },
              { key: 'clicks', label: 'Button clicks', color: COLORS.clicks },
            ]}
          />
        </section>
        <section className="card">
          <h3>Flow outcomes</h3>
          <Funnel
            title="Flow outcomes"
            steps={[
              { label: 'Started', value: r.outcomes.started, color: COLORS.started },
              { label: 'Still waiting', value: r.outcomes.waiting + r.outcomes.active, color: COLORS.waiting },
              { label: 'Completed', value: r.outcomes.completed, color: COLORS.completed },
              { label: 'Expired', value: r.outcomes.expired, color: COLORS.queued },
              { label: 'Interrupted', value: r.outcomes.interrupted, color: COLORS.queued },
              { label: 'Failed', value: r.outcomes.failed, color: COLORS.failed },
            ]}
          />
          {ends.length > 0 && (
            <p className="small">
              Ended on: {ends.map((e) => `${e.node_id} (${e.count})`).join(', ')}
            </p>
          )}
        </section>
        <section className="card">
          <h3>Per-node funnel</h3>
          {funnel.length === 0 ? (
            <p className="muted small">No node was entered yet (or the flow does not keep its trace).</p>
          ) : (
            <Funnel title="Sessions per node" steps={funnel.map((f) => ({ label: f.node_type ? `${f.node_id} · ${f.node_type}` : f.node_id, value: f.sessions, color: COLORS.started }))} />
          )}
        </section>
      </div>
      {r.voice && r.voice.placed > 0 && <VoiceSection v={r.voice} />}
      {channels.length > 0 && (
        <section className="card">
          <h3>Per channel</h3>
          <table className="table small">
            <thead>
              <tr>
                <th>Channel</th>
                <th>Sessions</th>
                <th>Sent</th>
                <th>Delivered</th>
                <th>Read</th>
                <th>Failed</th>
                <th>Replied</th>
                <th>Response rate</th>
              </tr>
            </thead>
            <tbody>
              {channels.map((c) => (
                <tr key={c.channel_id ?? ''}>
                  <td>
                    {c.channel_name || c.channel_id || '—'} <span className="muted">{c.channel_type}</span>
                  </td>
                  <td>{nf(c.sessions)}</td>
                  <td>{nf(c.sent)}</td>
                  <td>
                    {nf(c.delivered)} <span className="muted">({pct(c.delivered, c.sent)}%)</span>
                  </td>
                  <td>
                    {nf(c.read)} <span className="muted">({pct(c.read, c.sent)}%)</span>
                  </td>
                  <td>{nf(c.failed)}</td>
                  <td>{nf(c.replied)}</td>
                  <td>{c.response_rate}%</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

function deliverySteps(t: ChannelReport) {
  return [
    { label: 'Sent', value: t.sent, color: COLORS.sent },
    { label: 'Delivered', value: t.delivered, color: COLORS.delivered },
    { label: 'Read', value: t.read, color: COLORS.read },
    { label: 'Replied', value: t.replied, color: COLORS.replied },
  ];
}

/** VoiceSection is what the campaign's voice calls came to: placed, completed, failures by reason, average talk time, transfer rate and outcomes. */
function VoiceSection({ v }: { v: Report['voice'] }) {
  const outcomes = v.outcomes ?? [];
  return (
    <section className="card" aria-label="Voice calls">
      <h3>Voice calls</h3>
      <div className="stat-row">
        {(
          [
            ['Calls placed', nf(v.placed)],
            ['Completed', nf(v.completed)],
            ['Failed', nf(v.failed)],
            ['In progress', nf(v.in_progress)],
            ['Avg. duration', `${v.avg_duration_seconds} s`],
            ['Transfer rate', `${v.transfer_rate}%`],
          ] as const
        ).map(([label, value]) => (
          <div key={label} className="stat">
            <strong data-stat={label.toLowerCase()}>{value}</strong>
            <span>{label}</span>
          </div>
        ))}
      </div>
      <div className="report-grid">
        <div>
          <h4>How the calls ended</h4>
          <Funnel
            title="How the calls ended"
            steps={[
              { label: 'Completed (a person talked)', value: v.completed, color: COLORS.completed },
              { label: 'Transferred to a person', value: v.transferred, color: COLORS.replied },
              { label: 'Busy', value: v.busy, color: COLORS.failed },
              { label: 'No answer', value: v.no_answer, color: COLORS.queued },
              { label: 'Answering machine', value: v.machine, color: COLORS.queued },
              { label: 'Failed (error or interrupted)', value: v.errors, color: COLORS.failed },
            ]}
          />
        </div>
        <div>
          <h4>Outcomes</h4>
          {outcomes.length === 0 ? (
            <p className="muted small">No completed call was classified yet.</p>
          ) : (
            <BarList title="Call outcomes" color={COLORS.completed} items={outcomes.map((o) => ({ label: o.outcome, value: o.count }))} />
          )}
        </div>
      </div>
    </section>
  );
}
