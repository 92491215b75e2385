// Small SVG charts for the campaign report and the live progress bar. Written
// here rather than pulled from a library: four chart shapes, no CDN (the CSP
// forbids foreign origins), and each draws a table-like text alternative for
// screen readers through its <title> and labels.
import { compact, linePath, niceMax, pct, stack, ticks } from './chartmath';

/** The palette of the series, in order; colours chosen to stay distinct for common colour blindness. */
export const COLORS = {
  queued: '#c3cad2',
  waiting: '#f2c94c',
  started: '#7aa7e0',
  sent: '#2f6fb5',
  delivered: '#0b7a5c',
  read: '#12a17a',
  replied: '#8e5cc4',
  completed: '#4b2a86',
  failed: '#d14343',
  clicks: '#e07a2f',
} as const;

/** FunnelStep is one bar of a funnel: a label and its count. */
export interface FunnelStep {
  label: string;
  value: number;
  color?: string;
}

/** Funnel draws horizontal bars scaled to the first step, each with its count and share of the first. */
export function Funnel({ steps, title }: { steps: FunnelStep[]; title: string }) {
  const first = steps[0]?.value ?? 0;
  const max = Math.max(1, ...steps.map((s) => s.value));
  const rowH = 28;
  const labelW = 130;
  const w = 560;
  const barW = w - labelW - 110;
  return (
    <svg className="chart" role="img" aria-label={title} viewBox={`0 0 ${w} ${steps.length * rowH + 4}`} width="100%">
      <title>{`${title}: ${steps.map((s) => `${s.label} ${s.value}`).join(', ')}`}</title>
      {steps.map((s, i) => {
        const bw = (s.value / max) * barW;
        return (
          <g key={s.label} transform={`translate(0,${i * rowH + 2})`}>
            <text x={labelW - 8} y={17} textAnchor="end" className="chart-label">
              {s.label}
            </text>
            <rect x={labelW} y={3} width={barW} height={rowH - 8} rx={3} style={{ fill: 'var(--chart-track)' }} />
            <rect x={labelW} y={3} width={bw} height={rowH - 8} fill={s.color ?? COLORS.sent} rx={3} />
            <text x={labelW + barW + 8} y={17} className="chart-value">
              {s.value.toLocaleString()} {i > 0 && first > 0 ? `(${pct(s.value, first)}%)` : ''}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** BarList draws labelled horizontal bars (failures by reason): longest first, values on the right. */
export function BarList({ items, title, color = COLORS.failed }: { items: { label: string; value: number }[]; title: string; color?: string }) {
  const sorted = [...items].sort((a, b) => b.value - a.value);
  return <Funnel title={title} steps={sorted.map((i) => ({ label: i.label, value: i.value, color }))} />;
}

/** Series names one line of a TimeSeries chart. */
export interface Series {
  key: string;
  label: string;
  color: string;
}

/** TimeSeries draws one line per series over hourly buckets (rows: {t: ISO time, [key]: count}). */
export function TimeSeries({ rows, series, title }: { rows: Record<string, number | string>[]; series: Series[]; title: string }) {
  const w = 560;
  const h = 180;
  const pad = { l: 40, r: 10, t: 10, b: 34 };
  const iw = w - pad.l - pad.r;
  const ih = h - pad.t - pad.b;
  const xs = rows.map((r) => new Date(String(r.t)).getTime());
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yMax = niceMax(Math.max(0, ...rows.flatMap((r) => series.map((s) => Number(r[s.key] ?? 0)))));
  const label = (t: number) => {
    const d = new Date(t);
    return `${d.getMonth() + 1}/${d.getDate()} ${String(d.getHours()).padStart(2, '0')}:00`;
  };
  if (rows.length === 0) return <p className="muted small">Nothing sent yet.</p>;
  // One hour is no line: show its numbers as bars.
  if (rows.length === 1)
    return <GroupedBars title={title} groups={[{ label: label(xs[0]), values: Object.fromEntries(series.map((s) => [s.key, Number(rows[0][s.key] ?? 0)])) }]} series={series} />;
  return (
    <figure className="chart-fig">
      <svg className="chart" role="img" aria-label={title} viewBox={`0 0 ${w} ${h}`} width="100%">
        <title>{title}</title>
        <g transform={`translate(${pad.l},${pad.t})`}>
          {ticks(yMax).map((v) => {
            const y = ih - (v / yMax) * ih;
            return (
              <g key={v}>
                <line x1={0} x2={iw} y1={y} y2={y} style={{ stroke: 'var(--chart-grid)' }} />
                <text x={-6} y={y + 4} textAnchor="end" className="chart-axis">
                  {compact(v)}
                </text>
              </g>
            );
          })}
          {series.map((s) => {
            const pts = rows.map((r, i) => ({ x: xs[i], y: Number(r[s.key] ?? 0) }));
            return (
              <g key={s.key}>
                <path d={linePath(pts, iw, ih, xMin, xMax, yMax)} fill="none" stroke={s.color} strokeWidth={2} />
                {pts.map((p, i) => (
                  <circle key={i} cx={xMax === xMin ? iw / 2 : ((p.x - xMin) / (xMax - xMin)) * iw} cy={ih - (p.y / yMax) * ih} r={2.5} fill={s.color}>
                    <title>{`${label(p.x)} ${s.label}: ${p.y}`}</title>
                  </circle>
                ))}
              </g>
            );
          })}
          <text x={0} y={ih + 18} className="chart-axis">
            {label(xMin)}
          </text>
          {xMax !== xMin && (
            <text x={iw} y={ih + 18} textAnchor="end" className="chart-axis">
              {label(xMax)}
            </text>
          )}
        </g>
      </svg>
      <Legend series={series} />
    </figure>
  );
}

/** Legend lists the series with their colours. */
export function Legend({ series }: { series: Series[] }) {
  return (
    <figcaption className="legend">
      {series.map((s) => (
        <span key={s.key}>
          <i style={{ background: s.color }} /> {s.label}
        </span>
      ))}
    </figcaption>
  );
}

/** GroupedBars draws, for each group (a template), one vertical bar per series (sent, delivered…). */
export function GroupedBars({ groups, series, title }: { groups: { label: string; values: Record<string, number> }[]; series: Series[]; title: string }) {
  const w = 560;
  const h = 200;
  const pad = { l: 40, r: 10, t: 10, b: 40 };
  const iw = w - pad.l - pad.r;
  const ih = h - pad.t - pad.b;
  const yMax = niceMax(Math.max(0, ...groups.flatMap((g) => series.map((s) => g.values[s.key] ?? 0))));
  const gw = groups.length ? iw / groups.length : iw;
  const bw = Math.max(2, Math.min(22, (gw - 12) / series.length));
  if (groups.length === 0) return <p className="muted small">No template was sent.</p>;
  return (
    <figure className="chart-fig">
      <svg className="chart" role="img" aria-label={title} viewBox={`0 0 ${w} ${h}`} width="100%">
        <title>{title}</title>
        <g transform={`translate(${pad.l},${pad.t})`}>
          {ticks(yMax).map((v) => {
            const y = ih - (v / yMax) * ih;
            return (
              <g key={v}>
                <line x1={0} x2={iw} y1={y} y2={y} style={{ stroke: 'var(--chart-grid)' }} />
                <text x={-6} y={y + 4} textAnchor="end" className="chart-axis">
                  {compact(v)}
                </text>
              </g>
            );
          })}
          {groups.map((g, gi) => {
            const x0 = gi * gw + (gw - bw * series.length) / 2;
            return (
              <g key={g.label}>
                {series.map((s, si) => {
                  const v = g.values[s.key] ?? 0;
                  const bh = (v / yMax) * ih;
                  return (
                    <rect key={s.key} x={x0 + si * bw} y={ih - bh} width={bw - 2} height={bh} fill={s.color}>
                      <title>{`${g.label} ${s.label}: ${v}`}</title>
                    </rect>
                  );
                })}
                <text x={gi * gw + gw / 2} y={ih + 16} textAnchor="middle" className="chart-axis">
                  {g.label.length > 22 ? g.label.slice(0, 21) + '…' : g.label}
                </text>
              </g>
            );
          })}
        </g>
      </svg>
      <Legend series={series} />
    </figure>
  );
}

/** ProgressBar is the live execution bar: stacked segments (done, failed, in flight) over the total rows. */
export function ProgressBar({ total, segments, label }: { total: number; segments: { key: string; value: number; color: string; label: string }[]; label: string }) {
  const parts = stack(segments, total);
  const done = segments.reduce((a, s) => a + s.value, 0);
  return (
    <div className="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={total} aria-valuenow={Math.min(done, total)}>
      {parts.map((p, i) =>
        p.width > 0 ? (
          <div key={p.key} className="progress-seg" title={`${segments[i].label}: ${segments[i].value}`} style={{ left: `${p.start * 100}%`, width: `${p.width * 100}%`, background: segments[i].color }} />
        ) : null,
      )}
    </div>
  );
}
