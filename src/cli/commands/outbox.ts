// status, list, show, replay, cancel: thin wrappers over src/admin, printing
// tables for people and JSON (--json) for scripts. What a row holds goes through
// printable() on its way to a terminal: its text came from apps and providers.
import { hostname, userInfo } from 'node:os';
import { databaseOptionsFromEnv, loadConfig } from '../env.ts';
import { connect, type Db } from '../../db/connect.ts';
import {
  cancelFilter, cancelRow, checkId, checkStatus, EVENTS_SHOWN, listRows, parseDuration, replayFilter, replayIds, showRow, statusCounts, timelineOf,
  type RowFilter, type TimelineEntry,
} from '../../admin/outbox-admin.ts';
import { maskProps } from '../../admin/preview.ts';
import { catalogueOf } from '../../templates/catalogue.ts';
import { loadConfigFile } from '../load-config.ts';
import { printable } from '../terminal.ts';
import { ValidationError } from '../../errors.ts';

export async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const config = loadConfig();
  if (!config.DATABASE_URL) throw new ValidationError('DATABASE_URL', 'is required (e.g. postgres://user@host/db)');
  const db = connect(config.DATABASE_URL, { max: 2, applicationName: 'mailroom-cli', ...databaseOptionsFromEnv(config) });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const print = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

export interface FilterFlags {
  status?: string;
  template?: string;
  recipient?: string;
  since?: string;
}

/** Whether any filter flag was given (replay and cancel take ids or filters, not both). */
function hasFilter(flags: FilterFlags): boolean {
  return flags.status !== undefined || flags.template !== undefined || flags.since !== undefined || flags.recipient !== undefined;
}

export function toFilter(flags: FilterFlags): RowFilter {
  const filter: RowFilter = {};
  if (flags.status !== undefined) filter.status = checkStatus(flags.status, '--status');
  if (flags.template !== undefined) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(flags.template)) throw new ValidationError('--template', `"${flags.template}" is not a template name`);
    filter.template = flags.template;
  }
  if (flags.recipient !== undefined) filter.recipient = flags.recipient;
  if (flags.since !== undefined) filter.sinceMs = parseDuration(flags.since, '--since');
  return filter;
}

export async function statusCommand(flags: { json?: boolean }): Promise<void> {
  await withDb(async (db) => {
    const status = await statusCounts(db.kysely);
    if (flags.json) return print(JSON.stringify(status));
    const lines = Object.entries(status.byStatus).map(([s, n]) => `  ${printable(s).padEnd(11)} ${n}`);
    const age = status.oldestDueAgeSeconds == null ? 'none' : `${status.oldestDueAgeSeconds.toFixed(1)} s`;
    print(`outbox by status:\n${lines.join('\n')}\noldest due row waiting: ${age}`);
  });
}

export async function listCommand(flags: FilterFlags & { limit?: string; json?: boolean }): Promise<void> {
  const limit = flags.limit === undefined ? 50 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ValidationError('--limit', 'must be an integer from 1 to 10000');
  const filter = toFilter(flags);
  await withDb(async (db) => {
    const rows = await listRows(db.kysely, filter, limit);
    if (flags.json) return print(JSON.stringify(rows));
    if (rows.length === 0) return print('no rows');
    for (const r of rows) {
      print(
        `${r.id}  ${printable(r.status).padEnd(10)} ${String(r.attempts).padStart(2)}/${r.max_attempts}  ${printable(r.template).padEnd(16)} ` +
          `${printable(r.recipient)}  ${r.created_at.toISOString()}${r.last_error ? `  ${printable(r.last_error)}` : ''}`,
      );
    }
  });
}

/** Who an action from the command line is recorded as: the OS user and host (the timeline's "by"). */
function cliActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container's arbitrary uid): the host still says where.
  }
  return `cli (${`${user}@${hostname()}`.replace(/[\r\n]/g, ' ').slice(0, 190)})`;
}

/** One timeline entry as a line: a label, the time, then what happened. Each value went through printable(). */
function timelineLine(entry: TimelineEntry): string {
  const at = entry.at.toISOString();
  switch (entry.kind) {
    case 'enqueued':
      return `  ${'enqueued'.padEnd(10)} ${at}`;
    case 'queued':
      return `  ${'queued'.padEnd(10)} ${at}  claimed by the relay`;
    case 'action':
      return `  ${entry.action.padEnd(10)} ${at}  by ${printable(entry.actor)}`;
    case 'attempt':
      return (
        `  ${`#${entry.attempt}`.padEnd(10)} ${at}  ${`${entry.durationMs} ms`.padStart(8)}  ` +
        `${printable(entry.transport)} ${printable(entry.outcome)}${entry.errorClass ? ` (${printable(entry.errorClass)})` : ''}${entry.counted ? '' : ', not counted'}` +
        `${entry.responseCode ? ` ${entry.responseCode}` : ''} ${printable(entry.detail ?? '')}`
      ).trimEnd();
    case 'event': {
      const what = `${printable(entry.event)}${entry.hard === null ? '' : entry.hard ? ' (hard)' : ' (soft)'}`;
      const about = entry.address ? ` to ${printable(entry.address)}` : '';
      return `  ${printable(entry.provider).padEnd(10)} ${at}  ${what.padEnd(13)} ${printable(entry.detail ?? '')}${about}`.trimEnd();
    }
  }
}

export async function showCommand(id: string, flags: { json?: boolean; config?: string }): Promise<void> {
  const catalogue = catalogueOf((await loadConfigFile(flags.config)).config);
  await withDb(async (db) => {
    const found = await showRow(db.kysely, id);
    if (!found) throw new ValidationError('id', `no outbox row ${id}`);
    const { events, moreEvents, ...row } = found.row;
    const timeline = timelineOf(found);
    // Sensitive props (token links) are masked here too: terminals end up in screenshots.
    const props = maskProps(catalogue, row.template, row.props, '[sensitive]');
    const shown = { row: { ...row, props }, attempts: found.attempts, events, moreEvents, timeline };
    if (flags.json) return print(JSON.stringify(shown));
    const r = shown.row;
    print(
      [
        `id          ${r.id}`,
        `template    ${printable(r.template)}${r.locale ? ` (${printable(r.locale)})` : ''}`,
        `to          ${printable(r.recipient)}`,
        `status      ${printable(r.status)}  (attempts ${r.attempts}/${r.max_attempts})`,
        `created     ${r.created_at.toISOString()}`,
        `send after  ${r.send_after.toISOString()}${r.not_after ? `   not after ${r.not_after.toISOString()}` : ''}`,
        `sent        ${r.sent_at ? r.sent_at.toISOString() : '-'}`,
        `last error  ${printable(r.last_error ?? '-')}`,
        // JSON escapes C0 itself, not DEL, C1 or U+2028/2029.
        `props       ${printable(JSON.stringify(r.props))}`,
        // In time order: the enqueue, each attempt (#n, its duration, transport,
        // outcome, code, response), each provider event (its type and detail).
        `timeline:`,
        ...timeline.map(timelineLine),
        ...(moreEvents ? [`  (only the first ${EVENTS_SHOWN} provider events are shown: see mailroom.provider_events)`] : []),
      ].join('\n'),
    );
  });
}

export async function replayCommand(
  ids: string[],
  flags: FilterFlags & { dryRun?: boolean; resend?: boolean; json?: boolean },
): Promise<void> {
  const byFilter = hasFilter(flags);
  if (ids.length > 0 && byFilter) throw new ValidationError('id', 'give either ids or filters (--status, --template, --since), not both');
  if (ids.length === 0 && !byFilter) throw new ValidationError('id', 'give one or more ids, or --status failed [--template T] [--since 1h]');
  const options = { dryRun: flags.dryRun ?? false, resend: flags.resend ?? false, actor: cliActor() };
  await withDb(async (db) => {
    const result = ids.length > 0 ? await replayIds(db.kysely, ids, options) : await replayFilter(db.kysely, toFilter(flags), options);
    if (flags.json) return print(JSON.stringify(result));
    if (options.dryRun) {
      print(`${result.matched.length} row(s) would be replayed (dry run):`);
      for (const id of result.matched) print(`  ${id}`);
      return;
    }
    print(`replayed ${result.replayed.length} of ${result.matched.length} row(s)`);
    const skipped = result.matched.filter((id) => !result.replayed.includes(id));
    for (const id of skipped) print(`  skipped ${id}: not failed, expired or cancelled (use --resend for a sent row)`);
  });
}

export async function cancelCommand(ids: string[], flags: FilterFlags & { dryRun?: boolean; json?: boolean } = {}): Promise<void> {
  const byFilter = hasFilter(flags);
  if (ids.length > 0 && byFilter) throw new ValidationError('id', 'give either ids or filters (--status, --template, --recipient, --since), not both');
  if (ids.length === 0 && !byFilter) throw new ValidationError('id', 'give one or more ids, or filters such as --template digest --status pending');
  await withDb(async (db) => {
    if (byFilter) {
      const result = await cancelFilter(db.kysely, toFilter(flags), { dryRun: flags.dryRun ?? false, actor: cliActor() });
      if (flags.json) return print(JSON.stringify(result));
      if (flags.dryRun) {
        print(`${result.matched.length} row(s) would be cancelled (dry run):`);
        for (const id of result.matched) print(`  ${id}`);
        return;
      }
      return print(`cancelled ${result.cancelled.length} of ${result.matched.length} row(s)`);
    }
    for (const id of ids) {
      if (flags.dryRun) {
        print(`would cancel ${checkId(id)} if it is still pending, queued or retrying (dry run)`);
        continue;
      }
      const result = await cancelRow(db.kysely, id, { actor: cliActor() });
      if (!result.cancelled) {
        throw new ValidationError('id', `row ${id} is ${result.status}; only pending, queued or retrying rows can be cancelled`);
      }
      print(`cancelled ${id}`);
    }
  });
}
