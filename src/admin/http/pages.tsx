// The admin pages as React server components, rendered to static HTML. React
// escapes every value put in text or attributes; nothing here uses
// dangerouslySetInnerHTML, and the pages carry no script at all. A row's email is
// shown only inside a sandboxed iframe served with its own strict CSP (see plugin.ts).
import type { ReactNode } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { OutboxStatus } from '../../db/types.ts';
import { WINDOWS, type DashboardData } from '../dashboard.ts';
import {
  ATTEMPT_OUTCOMES, CANCELLABLE, EVENTS_SHOWN, REPLAYABLE, STATUSES, timelineOf, type BulkAction, type listPage, type showRow, type TimelineEntry,
} from '../outbox-admin.ts';
import { bucketName, COLORS, Lines, StackedBars, type BarSeries } from './charts.tsx';

export const BASE = '/admin';

export function page(element: ReactNode): string {
  return `<!doctype html>${renderToStaticMarkup(element)}`;
}

/** Query values of the list's filter form, as typed (empty: unset). */
export interface FilterValues {
  status: string;
  template: string;
  recipient: string;
  from: string;
  to: string;
  /** The attempt part (the charts' drill-down): an attempt's outcome, transport and time range. */
  outcome: string;
  transport: string;
  tried_from: string;
  tried_to: string;
}

export function filterQuery(values: FilterValues, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...values, ...extra })) if (value) params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

const time = (value: Date | string | null | undefined) =>
  value ? new Date(value).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';

function age(seconds: number | null): string {
  if (seconds == null) return 'none waiting';
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

const Status = ({ status }: { status: string }) => <span className={`status status-${status}`}>{status}</span>;

function Csrf({ token }: { token: string }) {
  return <input type="hidden" name="_csrf" value={token} />;
}

function Layout({ title, csrf, refreshSeconds, children }: { title: string; csrf?: string; refreshSeconds?: number; children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        {/* Live pages reload themselves, same URL and filters: no script needed, none allowed. */}
        {refreshSeconds ? <meta httpEquiv="refresh" content={String(refreshSeconds)} /> : null}
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="same-origin" />
        <title>{`${title} · mailroom admin`}</title>
        <link rel="stylesheet" href={`${BASE}/style.css`} />
        <link rel="icon" type="image/svg+xml" href={`${BASE}/favicon.svg`} />
      </head>
      <body>
        {csrf !== undefined ? (
          <header>
            <span className="brand">mailroom</span>
            <nav>
              <a href={`${BASE}`}>Overview</a>
              <a href={`${BASE}/outbox`}>Outbox</a>
              <a href={`${BASE}/suppression`}>Suppression list</a>
              <a href={`${BASE}/opt-outs`}>Opt-outs</a>
            </nav>
            <form method="post" action={`${BASE}/logout`}>
              <Csrf token={csrf} />
              <button type="submit" className="secondary">
                Sign out
              </button>
            </form>
          </header>
        ) : null}
        <main>{children}</main>
      </body>
    </html>
  );
}

export function LoginPage({ next, csrf, error }: { next: string; csrf: string; error?: string }) {
  return (
    <Layout title="Sign in">
      <form className="login" method="post" action={`${BASE}/login`}>
        <h1>mailroom admin</h1>
        {error ? <p className="notice error">{error}</p> : null}
        <label>
          Admin token
          <input type="password" name="token" autoComplete="current-password" required autoFocus />
        </label>
        <input type="hidden" name="next" value={next} />
        <Csrf token={csrf} />
        <button type="submit">Sign in</button>
        <p className="muted">The token is ADMIN_TOKEN of the server.</p>
      </form>
    </Layout>
  );
}

export function MessagePage({ title, message, csrf, kind, back }: { title: string; message: string; csrf?: string; kind?: 'error'; back?: string }) {
  return (
    <Layout title={title} {...(csrf !== undefined ? { csrf } : {})}>
      <h1>{title}</h1>
      <p className={kind === 'error' ? 'notice error' : 'notice'}>{message}</p>
      {back ? (
        <p>
          <a href={back}>Back</a>
        </p>
      ) : null}
    </Layout>
  );
}

/** How often the overview reloads itself while open (seconds). */
export const OVERVIEW_REFRESH_SECONDS = 30;

/** The overview's own query: window, template, transport (and refresh=off to hold still). */
export function overviewQuery(filter: DashboardData['filter'], extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  if (filter.window !== 'hour') params.set('window', filter.window);
  if (filter.template) params.set('template', filter.template);
  if (filter.transport) params.set('transport', filter.transport);
  for (const [k, v] of Object.entries(extra)) if (v) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}

const OUTCOME_OF: Record<string, string> = { sent: 'sent', failed: 'failed', retried: 'retry' };

/** The rows behind a bar: those with an attempt of that outcome in that bucket (and failed now, for failures: replayable from there). */
function drillDown(data: DashboardData, series: string, bucket: number): string {
  const from = data.buckets[bucket]!;
  const values: Record<string, string> = {
    outcome: OUTCOME_OF[series] ?? '',
    tried_from: from.toISOString(),
    tried_to: new Date(from.getTime() + data.bucketMs).toISOString(),
    template: data.filter.template ?? '',
    transport: data.filter.transport ?? '',
    status: series === 'failed' ? 'failed' : '',
  };
  return `${BASE}/outbox?${new URLSearchParams(Object.entries(values).filter(([, v]) => v)).toString()}`;
}

const percent = (rate: number | null) => (rate === null ? '-' : `${(100 * rate).toFixed(1)} %`);
const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(0)} s` : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms`);
const seconds = (v: number) => age(v);

function OverviewFilter({ data, refresh }: { data: DashboardData; refresh: boolean }) {
  const { filter } = data;
  const templates = filter.template && !data.templates.includes(filter.template) ? [filter.template, ...data.templates] : data.templates;
  const transports = filter.transport && !data.transports.includes(filter.transport) ? [filter.transport, ...data.transports] : data.transports;
  return (
    <form className="filters" method="get" action={`${BASE}`}>
      <label>
        window
        <select name="window" defaultValue={filter.window}>
          {Object.entries(WINDOWS).map(([name, w]) => (
            <option key={name} value={name}>
              {w.label}, by {w.grain}
            </option>
          ))}
        </select>
      </label>
      <label>
        template
        <select name="template" defaultValue={filter.template ?? ''}>
          <option value="">any</option>
          {templates.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        transport
        <select name="transport" defaultValue={filter.transport ?? ''}>
          <option value="">any</option>
          {transports.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      {refresh ? null : <input type="hidden" name="refresh" value="off" />}
      <button type="submit">Show</button>
      {refresh ? (
        <a href={`${BASE}${overviewQuery(filter, { refresh: 'off' })}`} data-testid="pause-refresh">
          Live: reloads every {OVERVIEW_REFRESH_SECONDS} s. Pause
        </a>
      ) : (
        <a href={`${BASE}${overviewQuery(filter)}`} data-testid="resume-refresh">
          Paused. Reload live
        </a>
      )}
    </form>
  );
}

export function OverviewPage({ data, csrf, refresh }: { data: DashboardData; csrf: string; refresh: boolean }) {
  const window = WINDOWS[data.filter.window];
  const per = window.grain;
  const frame = { buckets: data.buckets, bucketMs: data.bucketMs };
  const total = (values: number[]) => values.reduce((n, v) => n + v, 0);
  const [sent, failed, retried] = [total(data.tries.sent), total(data.tries.failed), total(data.tries.retried)];
  const scope = [data.filter.template, data.filter.transport].filter(Boolean).join(', ');
  const series: BarSeries[] = [
    { key: 'sent', label: 'sent', color: COLORS.blue, values: data.tries.sent },
    { key: 'retried', label: 'retried', color: COLORS.orange, texture: 'dots', values: data.tries.retried },
    { key: 'failed', label: 'failed', color: COLORS.vermillion, texture: 'hatch', values: data.tries.failed },
  ];
  const statusQuery = (status: string) => `${BASE}/outbox?status=${status}`;
  return (
    <Layout title="Overview" csrf={csrf} {...(refresh ? { refreshSeconds: OVERVIEW_REFRESH_SECONDS } : {})}>
      <h1>Overview{scope ? `: ${scope}` : ''}</h1>
      <OverviewFilter data={data} refresh={refresh} />
      {data.behind ? (
        <p className="notice" data-testid="rollup-behind">
          The charts are catching up with the history: attempts are counted up to {data.rolledUpTo ? bucketName(data.rolledUpTo, 60_000) : 'none yet'}. A
          running worker rolls up the rest within minutes.
        </p>
      ) : null}
      <div className="cards">
        <div className="card">
          <div className="muted">Due now, waiting</div>
          <div className="value" data-testid="due-now">
            {data.now.due > data.now.countCap ? `more than ${data.now.countCap}` : data.now.due}
          </div>
        </div>
        <div className="card">
          <div className="muted">Longest wait of a due row</div>
          <div className="value" data-testid="oldest-due">{age(data.now.oldestDueSeconds)}</div>
        </div>
        <div className="card">
          <div className="muted">Sent, {window.label}</div>
          <div className="value" data-testid="sent-in-window">{sent}</div>
        </div>
        <div className="card">
          <div className="muted">Failed, {window.label}</div>
          <div className="value" data-testid="failed-in-window">{failed}</div>
        </div>
        <div className="card">
          <div className="muted">Retried, {window.label}</div>
          <div className="value">{retried}</div>
        </div>
        <div className="card">
          <div className="muted">Failure rate (failed of settled tries)</div>
          <div className="value">{percent(sent + failed > 0 ? failed / (sent + failed) : null)}</div>
        </div>
      </div>
      <div className="charts">
        <StackedBars
          id="tries"
          title={`Tries per ${per}, ${window.label}`}
          unit={`tries per ${per}`}
          emptyText={`No tries in the ${window.label}${scope ? ` for ${scope}` : ''}.`}
          series={series}
          href={(s, i) => drillDown(data, s.key, i)}
          {...frame}
        />
        <Lines
          id="latency"
          title={`Latency from due to sent, per ${per} (upper bounds, within 19 %)`}
          unit="ms (log scale)"
          emptyText={`Nothing sent in the ${window.label}${scope ? ` for ${scope}` : ''}: no latency to show.`}
          log
          format={ms}
          series={[
            { key: 'p50', label: 'p50', color: COLORS.blue, values: data.latency.map((l) => l?.p50 ?? null) },
            { key: 'p95', label: 'p95', color: COLORS.orange, dash: '7 4', values: data.latency.map((l) => l?.p95 ?? null) },
            { key: 'p99', label: 'p99', color: COLORS.vermillion, dash: '2 3', values: data.latency.map((l) => l?.p99 ?? null) },
          ]}
          {...frame}
        />
        <Lines
          id="backlog"
          title={`Due rows waiting, sampled each minute (the most per ${per})`}
          unit="rows"
          emptyText={`No backlog samples in the ${window.label}: a running worker takes one each minute.`}
          series={[{ key: 'due', label: 'due rows', color: COLORS.blue, values: data.backlog.due }]}
          {...frame}
        />
        <Lines
          id="oldest-due"
          title={`Longest wait of a due row (the most per ${per})`}
          unit="waiting"
          emptyText={`No backlog samples in the ${window.label}: a running worker takes one each minute.`}
          format={seconds}
          series={[{ key: 'oldest', label: 'longest wait', color: COLORS.vermillion, values: data.backlog.oldestDueSeconds }]}
          {...frame}
        />
      </div>
      <h2>Failure rate by template, {window.label}</h2>
      {data.byTemplate.length === 0 ? (
        <p className="muted">No tries in that window.</p>
      ) : (
        <table data-testid="failure-rate">
          <thead>
            <tr>
              <th>template</th>
              <th className="num">sent</th>
              <th className="num">failed</th>
              <th className="num">retried</th>
              <th className="num">failure rate</th>
            </tr>
          </thead>
          <tbody>
            {data.byTemplate.map((t) => (
              <tr key={t.template}>
                <td>
                  <a href={`${BASE}${overviewQuery({ ...data.filter, template: t.template })}`}>{t.template}</a>
                </td>
                <td className="num">{t.sent}</td>
                <td className="num">
                  {t.failed > 0 ? (
                    <a href={`${BASE}/outbox?${new URLSearchParams({ template: t.template, status: 'failed', outcome: 'failed', tried_from: data.buckets[0]!.toISOString() })}`}>
                      {t.failed}
                    </a>
                  ) : (
                    0
                  )}
                </td>
                <td className="num">{t.retried}</td>
                <td className="num">{percent(t.failureRate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Top errors, {window.label === 'last hour' ? `since ${bucketName(new Date(Math.floor(data.buckets[0]!.getTime() / 3_600_000) * 3_600_000), 60_000)}` : window.label}</h2>
      <p className="muted">Failed and retried tries grouped by their message, with addresses, ids and long numbers taken out.</p>
      {data.errors.length === 0 ? (
        <p className="muted" data-testid="no-errors">
          No failed or retried tries.
        </p>
      ) : (
        <table data-testid="error-groups">
          <thead>
            <tr>
              <th className="num">tries</th>
              <th>message</th>
              <th>template</th>
              <th>transport</th>
              <th>outcome</th>
              <th>last (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {data.errors.map((e) => (
              <tr key={`${e.template} ${e.transport} ${e.outcome} ${e.errorClass} ${e.pattern}`}>
                <td className="num" data-col="tries">
                  <a
                    href={`${BASE}/outbox?${new URLSearchParams({
                      template: e.template,
                      transport: e.transport,
                      outcome: e.outcome,
                      tried_from: data.buckets[0]!.toISOString(),
                      ...(e.outcome === 'failed' ? { status: 'failed' } : {}),
                    })}`}
                  >
                    {e.tries}
                  </a>
                </td>
                <td className="mono" data-col="pattern">
                  {e.pattern || '(no message)'}
                  {e.errorClass ? <span className="muted"> ({e.errorClass})</span> : null}
                </td>
                <td>{e.template}</td>
                <td>{e.transport}</td>
                <td>{e.outcome === 'retry' ? 'retried' : 'failed'}</td>
                <td className="mono">{time(e.lastAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Rows by status now</h2>
      <table data-testid="status-counts">
        <thead>
          <tr>
            <th>status</th>
            <th className="num">rows</th>
          </tr>
        </thead>
        <tbody>
          {STATUSES.map((status) => (
            <tr key={status}>
              <td>
                <a href={statusQuery(status)}>
                  <Status status={status} />
                </a>
              </td>
              <td className="num">{data.now.byStatus[status] > data.now.countCap ? `more than ${data.now.countCap}` : data.now.byStatus[status]}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">All templates and transports; counted up to {data.now.countCap} each, so the page stays fast on a big outbox.</p>
    </Layout>
  );
}

function FilterForm({ values, templateNames }: { values: FilterValues; templateNames: readonly string[] }) {
  const templates = values.template && !templateNames.includes(values.template) ? [values.template, ...templateNames] : templateNames;
  return (
    <form className="filters" method="get" action={`${BASE}/outbox`}>
      <label>
        status
        <select name="status" defaultValue={values.status}>
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        template
        <select name="template" defaultValue={values.template}>
          <option value="">any</option>
          {templates.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <label>
        recipient
        <input type="text" name="recipient" defaultValue={values.recipient} placeholder="ada@example.com" />
      </label>
      <label>
        created from (UTC)
        <input type="date" name="from" defaultValue={values.from} />
      </label>
      <label>
        created to (UTC, inclusive)
        <input type="date" name="to" defaultValue={values.to} />
      </label>
      <label>
        with a try that
        <select name="outcome" defaultValue={values.outcome}>
          <option value="">(any outcome)</option>
          {ATTEMPT_OUTCOMES.map((o) => (
            <option key={o} value={o}>
              {o === 'retry' ? 'was retried' : o}
            </option>
          ))}
        </select>
      </label>
      <label>
        through transport
        <input type="text" name="transport" defaultValue={values.transport} placeholder="smtp" size={10} />
      </label>
      <label>
        tried from (UTC)
        <input type="text" name="tried_from" defaultValue={values.tried_from} placeholder="2026-12-02T10:00Z" size={20} />
      </label>
      <label>
        tried before (UTC)
        <input type="text" name="tried_to" defaultValue={values.tried_to} placeholder="2026-12-02T11:00Z" size={20} />
      </label>
      <button type="submit">Filter</button>
      <a href={`${BASE}/outbox`}>Clear</a>
    </form>
  );
}

/** How often the list reloads itself while following new rows (seconds). */
export const FOLLOW_REFRESH_SECONDS = 10;

export function ListPage({
  values,
  result,
  csrf,
  firstPage,
  templateNames,
  follow,
}: {
  values: FilterValues;
  result: Awaited<ReturnType<typeof listPage>>;
  csrf: string;
  firstPage: boolean;
  /** The config's templates, for the filter. */
  templateNames: readonly string[];
  /** Reload the newest page every FOLLOW_REFRESH_SECONDS, filters kept. */
  follow: boolean;
}) {
  const filtered = Object.values(values).some((v) => v !== '');
  const following = follow && firstPage;
  return (
    <Layout title="Outbox" csrf={csrf} {...(following ? { refreshSeconds: FOLLOW_REFRESH_SECONDS } : {})}>
      <h1>Outbox</h1>
      <FilterForm values={values} templateNames={templateNames} />
      <p>
        {following ? (
          <a href={`${BASE}/outbox${filterQuery(values)}`} data-testid="stop-following">
            Following new rows: reloads every {FOLLOW_REFRESH_SECONDS} s. Stop
          </a>
        ) : (
          <a href={`${BASE}/outbox${filterQuery(values, { follow: '1' })}`} data-testid="follow">
            Follow new rows
          </a>
        )}
      </p>
      {filtered ? (
        <div className="actions">
          {values.status && REPLAYABLE.includes(values.status as OutboxStatus) ? (
            <a href={`${BASE}/outbox/bulk${filterQuery(values, { action: 'replay' })}`}>Replay every row of this filter…</a>
          ) : null}
          <a href={`${BASE}/outbox/bulk${filterQuery(values, { action: 'cancel' })}`}>Cancel every unsent row of this filter…</a>
        </div>
      ) : null}
      {result.rows.length === 0 ? (
        <p className="notice" data-testid="no-rows">
          No rows{firstPage ? ' match' : ' after this point'}.
        </p>
      ) : (
        <table data-testid="outbox-rows">
          <thead>
            <tr>
              <th>created (UTC)</th>
              <th>status</th>
              <th>template</th>
              <th>recipient</th>
              <th className="num">tries</th>
              <th>last error</th>
            </tr>
          </thead>
          <tbody>
            {result.rows.map((r) => (
              <tr key={r.id} data-id={r.id}>
                <td className="mono">
                  <a href={`${BASE}/outbox/${r.id}`}>{time(r.created_at)}</a>
                </td>
                <td>
                  <Status status={r.status} />
                </td>
                <td>{r.template}</td>
                <td>{r.recipient}</td>
                <td className="num">
                  {r.attempts}/{r.max_attempts}
                </td>
                <td className="muted">{r.last_error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        {firstPage ? null : <a href={`${BASE}/outbox${filterQuery(values)}`}>Newest</a>}
        {result.next ? (
          <a rel="next" href={`${BASE}/outbox${filterQuery(values, { after: result.next })}`}>
            Older →
          </a>
        ) : null}
      </div>
    </Layout>
  );
}

type Shown = NonNullable<Awaited<ReturnType<typeof showRow>>>;

/** One timeline entry's cells: what happened, its result, code, duration and detail. */
function timelineCells(entry: TimelineEntry): { what: string; result: string; code: string; took: string; detail: string } {
  switch (entry.kind) {
    case 'enqueued':
      return { what: 'enqueued', result: '', code: '', took: '', detail: '' };
    case 'queued':
      return { what: 'queued', result: 'claimed by the relay', code: '', took: '', detail: 'the latest hand-off, to a sender of its own process or to pg-boss (a retry hands the row over again)' };
    case 'action':
      return { what: entry.action === 'resend' ? 'sent again' : entry.action === 'replay' ? 'replayed' : 'cancelled', result: `by ${entry.actor}`, code: '', took: '', detail: '' };
    case 'attempt':
      return {
        what: `attempt ${entry.attempt}`,
        result: `${entry.transport} ${entry.outcome}${entry.errorClass ? ` (${entry.errorClass})` : ''}${entry.counted ? '' : ', not counted'}`,
        code: entry.responseCode === null ? '' : String(entry.responseCode),
        took: `${entry.durationMs} ms`,
        detail: entry.detail ?? '',
      };
    case 'event':
      return {
        what: `${entry.provider} ${entry.event}`,
        result: `${entry.eventKind}${entry.hard === null ? '' : entry.hard ? ' (hard)' : ' (soft)'}`,
        code: '',
        took: '',
        detail: `${entry.detail ?? ''}${entry.address ? ` (to ${entry.address})` : ''}`,
      };
  }
}

/** Time since the enqueue, as "+120 ms", "+3.2 s", "+4 min", "+2.1 h", "+3 days". */
function since(deltaMs: number): string {
  if (deltaMs < 0) return '';
  if (deltaMs < 1000) return `+${deltaMs} ms`;
  if (deltaMs < 120_000) return `+${(deltaMs / 1000).toFixed(1)} s`;
  return `+${age(deltaMs / 1000).replace(/\.0 /, ' ')}`;
}

/** The row's story in time order: enqueued, operator actions, hand-off, each attempt, each provider event (see timelineOf). */
function Timeline({ entries, moreEvents }: { entries: TimelineEntry[]; moreEvents: boolean }) {
  return (
    <>
      <h2>Timeline</h2>
      <table data-testid="timeline">
        <thead>
          <tr>
            <th>at (UTC)</th>
            <th className="num">since enqueue</th>
            <th>what</th>
            <th>result</th>
            <th className="num">code</th>
            <th className="num">took</th>
            <th>detail</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry, i) => {
            const cells = timelineCells(entry);
            return (
              <tr key={i} data-kind={entry.kind}>
                <td className="mono" data-col="at">{time(entry.at)}</td>
                <td className="num mono" data-col="since">{since(entry.at.getTime() - entries[0]!.at.getTime())}</td>
                <td data-col="what">{cells.what}</td>
                <td>{cells.result}</td>
                <td className="num">{cells.code}</td>
                <td className="num">{cells.took}</td>
                <td className="muted">{cells.detail}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {moreEvents ? <p className="muted">Only the first {EVENTS_SHOWN} provider events are shown: see mailroom.provider_events.</p> : null}
    </>
  );
}

export function RowPage({
  row,
  attempts,
  props,
  subject,
  previewError,
  resendable,
  csrf,
  notice,
}: {
  row: Shown['row'];
  attempts: Shown['attempts'];
  props: Record<string, unknown>;
  subject: string | null;
  previewError: string | null;
  /** A sent row still holds its sensitive props (they are scrubbed once sent), so sending it again can render. */
  resendable: boolean;
  csrf: string;
  notice?: string;
}) {
  const replayable = REPLAYABLE.includes(row.status);
  return (
    <Layout title={`Row ${row.id}`} csrf={csrf}>
      <h1>
        {row.template} to {row.recipient} <Status status={row.status} />
      </h1>
      {notice ? <p className="notice" data-testid="notice">{notice}</p> : null}
      <div className="actions">
        {replayable ? (
          <form method="post" action={`${BASE}/outbox/${row.id}/replay`}>
            <Csrf token={csrf} />
            <button type="submit">Replay</button>
          </form>
        ) : null}
        {row.status === 'sent' && resendable ? (
          <form method="post" action={`${BASE}/outbox/${row.id}/replay`}>
            <Csrf token={csrf} />
            <input type="hidden" name="resend" value="true" />
            <button type="submit" className="secondary">
              Send again
            </button>
          </form>
        ) : null}
        {CANCELLABLE.includes(row.status) ? (
          <form method="post" action={`${BASE}/outbox/${row.id}/cancel`}>
            <Csrf token={csrf} />
            <button type="submit" className="danger">
              Cancel
            </button>
          </form>
        ) : null}
      </div>
      <dl className="fields">
        <dt>id</dt>
        <dd className="mono">{row.id}</dd>
        <dt>status</dt>
        <dd data-testid="row-status">{row.status}</dd>
        <dt>template</dt>
        <dd>
          {row.template}
          {row.locale ? ` (${row.locale})` : ''}
        </dd>
        <dt>to</dt>
        <dd>{row.recipient}</dd>
        <dt>attempts</dt>
        <dd>
          {row.attempts} of {row.max_attempts}
        </dd>
        <dt>created</dt>
        <dd>{time(row.created_at)}</dd>
        <dt>send after</dt>
        <dd>
          {time(row.send_after)}
          {row.not_after ? `, not after ${time(row.not_after)}` : ''}
        </dd>
        <dt>sent</dt>
        <dd>{time(row.sent_at)}</dd>
        <dt>last error</dt>
        <dd>{row.last_error ?? '-'}</dd>
        <dt>idempotency key</dt>
        <dd className="mono">{row.idempotency_key ?? '-'}</dd>
        <dt>props (sensitive masked)</dt>
        <dd>
          <pre className="mono" data-testid="props">
            {JSON.stringify(props, null, 2)}
          </pre>
        </dd>
      </dl>
      <Timeline entries={timelineOf({ row, attempts })} moreEvents={row.moreEvents} />
      <h2>Attempts</h2>
      {attempts.length === 0 ? (
        <p className="muted">No attempts yet.</p>
      ) : (
        <table data-testid="attempts">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>started (UTC)</th>
              <th>transport</th>
              <th>outcome</th>
              <th>class</th>
              <th className="num">code</th>
              <th>response or error</th>
            </tr>
          </thead>
          <tbody>
            {attempts.map((a) => (
              <tr key={a.id}>
                <td className="num">{a.attempt}</td>
                <td className="mono">{time(a.started_at)}</td>
                <td>{a.transport}</td>
                <td>{a.outcome}</td>
                <td>{a.error_class ?? ''}</td>
                <td className="num">{a.response_code ?? ''}</td>
                <td className="muted">{a.response ?? a.error_message ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Preview (sensitive props masked)</h2>
      {previewError ? (
        <p className="notice error">Cannot render this row: {previewError}</p>
      ) : (
        <>
          <p>
            Subject: <strong data-testid="subject">{subject}</strong>
          </p>
          <iframe className="preview" title="email preview" sandbox="" src={`${BASE}/outbox/${row.id}/preview`} />
        </>
      )}
    </Layout>
  );
}

const ACTION_WORDS: Record<BulkAction, { verb: string; done: string }> = {
  replay: { verb: 'Replay', done: 'replayed' },
  cancel: { verb: 'Cancel', done: 'cancelled' },
};

export function ConfirmPage({
  action,
  values,
  count,
  csrf,
  max,
  notice,
}: {
  action: BulkAction;
  values: FilterValues;
  count: number;
  csrf: string;
  /** Above this count the pages refuse: the CLI is the tool for that many rows. */
  max: number;
  notice?: string;
}) {
  const words = ACTION_WORDS[action];
  const described = Object.entries(values)
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `${k} = ${v}`)
    .join(', ');
  return (
    <Layout title={`${words.verb} by filter`} csrf={csrf}>
      <h1>{words.verb} every row of a filter</h1>
      {notice ? <p className="notice error">{notice}</p> : null}
      <p>
        Filter: <strong>{described}</strong>
      </p>
      <p data-testid="bulk-count">
        {count === 1 ? '1 row' : `${count} rows`} would be {words.done}
        {action === 'cancel' ? ' (only pending, queued and retrying rows are cancelled)' : ' (only failed, expired and cancelled rows are replayed)'}.
      </p>
      {count > max ? (
        <p className="notice error">
          That is more than {max} rows: narrow the filter, or use <code>mailroom {action}</code> from the command line.
        </p>
      ) : null}
      {count > 0 && count <= max ? (
        <form method="post" action={`${BASE}/outbox/bulk`} className="actions">
          <Csrf token={csrf} />
          <input type="hidden" name="action" value={action} />
          <input type="hidden" name="expected" value={String(count)} />
          {Object.entries(values).map(([k, v]) => (v ? <input key={k} type="hidden" name={k} value={v} /> : null))}
          <button type="submit" className={action === 'cancel' ? 'danger' : ''}>
            {words.verb} {count === 1 ? '1 row' : `${count} rows`}
          </button>
        </form>
      ) : null}
      <p>
        <a href={`${BASE}/outbox${filterQuery(values)}`}>Back to the list</a>
      </p>
    </Layout>
  );
}

export function BulkDonePage({ action, values, matched, changed, csrf }: { action: BulkAction; values: FilterValues; matched: number; changed: number; csrf: string }) {
  const words = ACTION_WORDS[action];
  return (
    <Layout title={`${words.verb} done`} csrf={csrf}>
      <h1>
        {words.verb}: {changed} of {matched} row(s) {words.done}
      </h1>
      {changed < matched ? <p className="notice">The others changed status in the meantime and were left alone.</p> : null}
      <p>
        <a href={`${BASE}/outbox${filterQuery(values)}`}>Back to the list</a>
      </p>
    </Layout>
  );
}

export function SuppressionPage({
  rows,
  q,
  next,
  csrf,
  notice,
}: {
  rows: { address: string; reason: string; source: string; created_at: Date }[];
  q: string;
  next: string | null;
  csrf: string;
  notice?: string;
}) {
  return (
    <Layout title="Suppression list" csrf={csrf}>
      <h1>Suppression list</h1>
      <p className="muted">Addresses here get no email: rows to them end suppressed, unsent.</p>
      {notice ? <p className="notice">{notice}</p> : null}
      <form className="filters" method="get" action={`${BASE}/suppression`}>
        <label>
          address starts with
          <input type="text" name="q" defaultValue={q} />
        </label>
        <button type="submit">Search</button>
      </form>
      <form className="filters" method="post" action={`${BASE}/suppression/add`}>
        <Csrf token={csrf} />
        <label>
          add address
          <input type="email" name="address" required />
        </label>
        <label>
          reason
          <input type="text" name="reason" placeholder="asked by support" maxLength={200} />
        </label>
        <button type="submit">Suppress</button>
      </form>
      {rows.length === 0 ? (
        <p className="notice">No suppressed addresses{q ? ' match' : ''}.</p>
      ) : (
        <table data-testid="suppressions">
          <thead>
            <tr>
              <th>address</th>
              <th>reason</th>
              <th>source</th>
              <th>since (UTC)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.address}>
                <td>{r.address}</td>
                <td>{r.reason}</td>
                <td>{r.source}</td>
                <td className="mono">{time(r.created_at)}</td>
                <td>
                  <form method="post" action={`${BASE}/suppression/remove`}>
                    <Csrf token={csrf} />
                    <input type="hidden" name="address" value={r.address} />
                    <button type="submit" className="secondary">
                      Remove
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next ? (
        <div className="pager">
          <a rel="next" href={`${BASE}/suppression${q ? `?q=${encodeURIComponent(q)}&` : '?'}after=${encodeURIComponent(next)}`}>
            Next →
          </a>
        </div>
      ) : null}
    </Layout>
  );
}

/** mailroom.opt_out: who unsubscribed from which category (one-click link, provider event, by hand). */
export function OptOutsPage({ rows, q, csrf, notice }: { rows: { address: string; category: string; source: string; created_at: Date }[]; q: string; csrf: string; notice?: string }) {
  return (
    <Layout title="Opt-outs" csrf={csrf}>
      <h1>Opt-outs</h1>
      <p className="muted">
        Addresses that unsubscribed from a category of non-essential email (digests, alerts, reminders): later emails of that category to them end
        suppressed. Account and security emails still reach them.
      </p>
      {notice ? <p className="notice">{notice}</p> : null}
      <form className="filters" method="get" action={`${BASE}/opt-outs`}>
        <label>
          address
          <input type="email" name="q" defaultValue={q} />
        </label>
        <button type="submit">Search</button>
      </form>
      {rows.length === 0 ? (
        <p className="notice">No opt-outs{q ? ' for this address' : ''}.</p>
      ) : (
        <table data-testid="opt-outs">
          <thead>
            <tr>
              <th>address</th>
              <th>category</th>
              <th>source</th>
              <th>since (UTC)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.address} ${r.category}`}>
                <td>{r.address}</td>
                <td>{r.category}</td>
                <td>{r.source}</td>
                <td className="mono">{time(r.created_at)}</td>
                <td>
                  <form method="post" action={`${BASE}/opt-outs/remove`}>
                    <Csrf token={csrf} />
                    <input type="hidden" name="address" value={r.address} />
                    <input type="hidden" name="category" value={r.category} />
                    <button type="submit" className="secondary">
                      Remove
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Layout>
  );
}
