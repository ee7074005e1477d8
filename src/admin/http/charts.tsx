// Charts as SVG drawn on the server: no script, no front-end build, nothing the
// pages' CSP has to allow (colours are presentation attributes, not style=).
// Each chart has axes with units, a legend, a <title>/<desc> text alternative and
// the numbers in a table under it. Colours are the Okabe-Ito palette, which stays
// distinguishable with the common colour-vision deficiencies, and no series is told
// by colour alone: failed bars are hatched, retried bars dotted, and the latency
// lines solid, dashed and dotted.
import type { ReactNode } from 'react';

export const COLORS = { blue: '#0072B2', orange: '#E69F00', vermillion: '#D55E00', green: '#009E73', grey: '#555555' } as const;

const W = 760;
const H = 250;
const M = { left: 64, right: 16, top: 34, bottom: 42 };
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;

export interface BarSeries {
  key: string;
  label: string;
  color: string;
  /** A fill pattern over the colour, so the series is told apart without colour. */
  texture?: 'hatch' | 'dots';
  values: number[];
}

export interface LineSeries {
  key: string;
  label: string;
  color: string;
  /** stroke-dasharray: solid when absent. */
  dash?: string;
  values: (number | null)[];
}

interface Frame {
  /** Unique on the page: the ids of the chart's title, desc and patterns start with it. */
  id: string;
  title: string;
  /** The y axis' title, with its unit: "tries per minute", "ms". */
  unit: string;
  buckets: Date[];
  bucketMs: number;
  /** What an empty window says instead of a chart. */
  emptyText: string;
}

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const hhmm = (d: Date) => d.toISOString().slice(11, 16);
const day = (d: Date) => `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;

/** A bucket's name in text: "10:05 UTC" by minute, "Dec 2 10:00 UTC" by hour. */
export function bucketName(d: Date, bucketMs: number): string {
  return bucketMs < 3_600_000 ? `${hhmm(d)} UTC` : `${day(d)} ${hhmm(d)} UTC`;
}

/** Round, readable y ticks from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Powers of ten covering [min, max] for a log axis. */
export function logTicks(min: number, max: number): number[] {
  const low = Math.floor(Math.log10(Math.max(min, 0.01)));
  const high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(max, 0.01))));
  return Array.from({ length: high - low + 1 }, (_, i) => Number((10 ** (low + i)).toPrecision(6)));
}

/** Where the x axis is labelled: every 10 minutes by minute, every midnight (UTC) by hour. */
function xTicks(buckets: Date[], bucketMs: number): number[] {
  return buckets.flatMap((d, i) => ((bucketMs < 3_600_000 ? d.getUTCMinutes() % 10 === 0 : d.getUTCHours() === 0) ? [i] : []));
}

function Axes({ frame, yTicks, y, yLabel }: { frame: Frame; yTicks: number[]; y: (v: number) => number; yLabel: (v: number) => string }) {
  const slot = PLOT_W / frame.buckets.length;
  return (
    <g className="axes" fontSize="11" fill={COLORS.grey}>
      {yTicks.map((t) => (
        <g key={`y${t}`} className="y-tick">
          <line x1={M.left} x2={M.left + PLOT_W} y1={y(t)} y2={y(t)} stroke="#d9dee7" strokeWidth="1" />
          <text x={M.left - 6} y={y(t) + 4} textAnchor="end">
            {yLabel(t)}
          </text>
        </g>
      ))}
      <line x1={M.left} x2={M.left + PLOT_W} y1={M.top + PLOT_H} y2={M.top + PLOT_H} stroke={COLORS.grey} strokeWidth="1" />
      <line x1={M.left} x2={M.left} y1={M.top} y2={M.top + PLOT_H} stroke={COLORS.grey} strokeWidth="1" />
      {xTicks(frame.buckets, frame.bucketMs).map((i) => (
        <g key={`x${i}`} className="x-tick">
          <line x1={M.left + i * slot} x2={M.left + i * slot} y1={M.top + PLOT_H} y2={M.top + PLOT_H + 4} stroke={COLORS.grey} />
          <text x={M.left + i * slot} y={M.top + PLOT_H + 16} textAnchor="middle">
            {frame.bucketMs < 3_600_000 ? hhmm(frame.buckets[i]!) : day(frame.buckets[i]!)}
          </text>
        </g>
      ))}
      <text className="axis-title" x={M.left + PLOT_W / 2} y={H - 6} textAnchor="middle">
        time (UTC)
      </text>
      <text className="axis-title" x={14} y={M.top + PLOT_H / 2} textAnchor="middle" transform={`rotate(-90 14 ${M.top + PLOT_H / 2})`}>
        {frame.unit}
      </text>
    </g>
  );
}

function Legend({ items }: { items: { key: string; label: string; swatch: ReactNode }[] }) {
  let x = M.left;
  return (
    <g className="legend" fontSize="12" fill="#1d2330">
      {items.map((item) => {
        const at = x;
        x += 34 + item.label.length * 7;
        return (
          <g key={item.key} transform={`translate(${at} 8)`} data-legend={item.key}>
            {item.swatch}
            <text x="26" y="11">
              {item.label}
            </text>
          </g>
        );
      })}
    </g>
  );
}

function Textures({ id, series }: { id: string; series: BarSeries[] }) {
  return (
    <defs>
      {series.map((s) =>
        s.texture === 'hatch' ? (
          <pattern key={s.key} id={`${id}-${s.key}`} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
            <rect width="6" height="6" fill={s.color} />
            <line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" strokeWidth="2" />
          </pattern>
        ) : s.texture === 'dots' ? (
          <pattern key={s.key} id={`${id}-${s.key}`} width="5" height="5" patternUnits="userSpaceOnUse">
            <rect width="5" height="5" fill={s.color} />
            <circle cx="2.5" cy="2.5" r="1.1" fill="#ffffff" />
          </pattern>
        ) : null,
      )}
    </defs>
  );
}

const fillOf = (id: string, s: BarSeries) => (s.texture ? `url(#${id}-${s.key})` : s.color);

/** The chart's numbers as a table, for screen readers and for copying. Empty buckets are left out. */
function DataTable({ frame, columns, rows }: { frame: Frame; columns: string[]; rows: { bucket: Date; cells: string[] }[] }) {
  return (
    <details className="chart-data">
      <summary>Numbers of this chart ({rows.length} {rows.length === 1 ? 'bucket' : 'buckets'} with data)</summary>
      <table>
        <thead>
          <tr>
            <th>{frame.bucketMs < 3_600_000 ? 'minute' : 'hour'}</th>
            {columns.map((c) => (
              <th key={c} className="num">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.bucket.toISOString()}>
              <td className="mono">{bucketName(r.bucket, frame.bucketMs)}</td>
              {r.cells.map((c, i) => (
                <td key={i} className="num">
                  {c}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

function Empty({ frame }: { frame: Frame }) {
  return (
    <figure className="chart chart-empty" data-chart={frame.id}>
      <figcaption>{frame.title}</figcaption>
      <p className="muted" data-testid={`${frame.id}-empty`}>
        {frame.emptyText}
      </p>
    </figure>
  );
}

/**
 * Stacked bars, one slot per bucket, the series bottom-up in the order given. A bar
 * links to `href(series, bucket)` when given: the rows behind it.
 */
export function StackedBars({ href, series, ...frame }: Frame & { series: BarSeries[]; href?: (series: BarSeries, bucket: number) => string }) {
  const totals = frame.buckets.map((_, i) => series.reduce((n, s) => n + (s.values[i] ?? 0), 0));
  const max = Math.max(0, ...totals);
  if (max === 0) return <Empty frame={frame} />;
  const ticks = niceTicks(max);
  const top = ticks.at(-1)!;
  const y = (v: number) => M.top + PLOT_H - (v / top) * PLOT_H;
  const slot = PLOT_W / frame.buckets.length;
  const gap = slot > 6 ? 1.5 : slot > 3 ? 0.6 : 0;
  const sums = series.map((s) => s.values.reduce((n, v) => n + v, 0));
  const peak = (s: BarSeries) => s.values.reduce((best, v, i) => (v > (s.values[best] ?? 0) ? i : best), 0);
  const desc =
    `${frame.title}, ${bucketName(frame.buckets[0]!, frame.bucketMs)} to ${bucketName(frame.buckets.at(-1)!, frame.bucketMs)}: ` +
    series
      .map((s, k) => `${fmt.format(sums[k]!)} ${s.label}${sums[k]! > 0 ? ` (most at ${bucketName(frame.buckets[peak(s)]!, frame.bucketMs)}: ${fmt.format(s.values[peak(s)]!)})` : ''}`)
      .join('; ') +
    '.';
  return (
    <figure className="chart" data-chart={frame.id}>
      <figcaption>{frame.title}</figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        width="100%"
        role="img"
        aria-labelledby={`${frame.id}-title ${frame.id}-desc`}
        data-buckets={frame.buckets.length}
        xmlns="http://www.w3.org/2000/svg"
      >
        <title id={`${frame.id}-title`}>{frame.title}</title>
        <desc id={`${frame.id}-desc`}>{desc}</desc>
        <Textures id={frame.id} series={series} />
        <Axes frame={frame} yTicks={ticks} y={y} yLabel={(v) => fmt.format(v)} />
        <g className="bars">
          {frame.buckets.map((bucket, i) => {
            let base = 0;
            return series.map((s) => {
              const value = s.values[i] ?? 0;
              if (value <= 0) return null;
              const rect = (
                <rect
                  x={M.left + i * slot + gap / 2}
                  width={Math.max(0.5, slot - gap)}
                  y={y(base + value)}
                  height={y(base) - y(base + value)}
                  fill={fillOf(frame.id, s)}
                  data-series={s.key}
                  data-bucket={bucket.toISOString()}
                  data-value={value}
                >
                  <title>{`${bucketName(bucket, frame.bucketMs)}: ${fmt.format(value)} ${s.label}`}</title>
                </rect>
              );
              base += value;
              const key = `${s.key}-${i}`;
              return href ? (
                <a key={key} href={href(s, i)}>
                  {rect}
                </a>
              ) : (
                <g key={key}>{rect}</g>
              );
            });
          })}
        </g>
        <Legend
          items={series.map((s) => ({
            key: s.key,
            label: s.label,
            swatch: <rect width="20" height="12" fill={fillOf(frame.id, s)} stroke={s.color} />,
          }))}
        />
      </svg>
      <DataTable
        frame={frame}
        columns={series.map((s) => s.label)}
        rows={frame.buckets.flatMap((bucket, i) => (totals[i]! > 0 ? [{ bucket, cells: series.map((s) => fmt.format(s.values[i] ?? 0)) }] : []))}
      />
    </figure>
  );
}

/**
 * Lines over the buckets; a bucket without a value breaks the line (nothing is
 * drawn there, rather than a made-up zero). Each value is also a dot, so a lone
 * value shows. `log`: a log10 axis, for latencies whose p99 is far above p50.
 */
export function Lines({ series, log, format, ...frame }: Frame & { series: LineSeries[]; log?: boolean; format?: (v: number) => string }) {
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  if (values.length === 0) return <Empty frame={frame} />;
  const show = format ?? ((v: number) => fmt.format(v));
  const max = Math.max(...values);
  const ticks = log ? logTicks(Math.min(...values), max) : niceTicks(max);
  const [low, high] = [ticks[0]!, ticks.at(-1)!];
  const y = log
    ? (v: number) => M.top + PLOT_H - ((Math.log10(Math.max(v, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) * PLOT_H
    : (v: number) => M.top + PLOT_H - (v / high) * PLOT_H;
  const slot = PLOT_W / frame.buckets.length;
  const x = (i: number) => M.left + i * slot + slot / 2;
  const runs = (s: LineSeries) => {
    const out: number[][] = [];
    s.values.forEach((v, i) => {
      if (v === null) return;
      const last = out.at(-1);
      if (last && last.at(-1) === i - 1) last.push(i);
      else out.push([i]);
    });
    return out;
  };
  const desc =
    `${frame.title}, ${bucketName(frame.buckets[0]!, frame.bucketMs)} to ${bucketName(frame.buckets.at(-1)!, frame.bucketMs)}: ` +
    series
      .map((s) => {
        const own = s.values.filter((v): v is number => v !== null);
        return own.length === 0 ? `${s.label} no data` : `${s.label} from ${show(Math.min(...own))} to ${show(Math.max(...own))}`;
      })
      .join('; ') +
    `; ${frame.buckets.length - series[0]!.values.filter((v) => v !== null).length} of ${frame.buckets.length} buckets without data.`;
  return (
    <figure className="chart" data-chart={frame.id}>
      <figcaption>{frame.title}</figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        width="100%"
        role="img"
        aria-labelledby={`${frame.id}-title ${frame.id}-desc`}
        data-buckets={frame.buckets.length}
        xmlns="http://www.w3.org/2000/svg"
      >
        <title id={`${frame.id}-title`}>{frame.title}</title>
        <desc id={`${frame.id}-desc`}>{desc}</desc>
        <Axes frame={frame} yTicks={ticks} y={y} yLabel={show} />
        {series.map((s) => (
          <g key={s.key} className="line" data-series={s.key}>
            {runs(s).map((run) =>
              run.length > 1 ? (
                <polyline
                  key={`l${run[0]}`}
                  points={run.map((i) => `${x(i).toFixed(1)},${y(s.values[i]!).toFixed(1)}`).join(' ')}
                  fill="none"
                  stroke={s.color}
                  strokeWidth="2"
                  {...(s.dash ? { strokeDasharray: s.dash } : {})}
                />
              ) : null,
            )}
            {s.values.map((v, i) =>
              v === null ? null : (
                <circle key={i} cx={x(i)} cy={y(v)} r="2.2" fill={s.color} data-bucket={frame.buckets[i]!.toISOString()} data-value={v}>
                  <title>{`${bucketName(frame.buckets[i]!, frame.bucketMs)}: ${s.label} ${show(v)}`}</title>
                </circle>
              ),
            )}
          </g>
        ))}
        <Legend
          items={series.map((s) => ({
            key: s.key,
            label: s.label,
            swatch: <line x1="0" x2="20" y1="6" y2="6" stroke={s.color} strokeWidth="2.5" {...(s.dash ? { strokeDasharray: s.dash } : {})} />,
          }))}
        />
      </svg>
      <DataTable
        frame={frame}
        columns={series.map((s) => s.label)}
        rows={frame.buckets.flatMap((bucket, i) =>
          series.some((s) => s.values[i] !== null) ? [{ bucket, cells: series.map((s) => (s.values[i] === null ? '-' : show(s.values[i]!))) }] : [],
        )}
      />
    </figure>
  );
}
