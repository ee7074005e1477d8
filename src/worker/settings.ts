// The worker's knobs as typed options with documented defaults. The CLI fills
// them from the environment (src/cli/env.ts); code passes them to startWorker().
import type { RateLimits } from '../ratelimit/permits.ts';
import { checkUnsubscribeSettings, type UnsubscribeSettings } from '../unsubscribe/link.ts';
import { NO_STAGING_RULES, resolveStagingRules, type StagingRules } from './staging.ts';

export interface WorkerSettings {
  /** The From header of every email. Default `mailroom <no-reply@localhost>`. */
  from: string;
  /** The domain of each email's Message-ID (`<outbox-id@domain>`). Default `mailroom.localhost`. */
  messageIdDomain: string;
  /** Handed to templates as `baseUrl` for their links. Default `http://localhost:3000`. */
  frontendBaseUrl: string;
  /** Jobs per sender batch. Default 50. */
  batchSize: number;
  /** Sender batches in flight per process. Default 2. */
  concurrency: number;
  /** How long a job may stay active before the sweeper treats its worker as dead, in seconds. Default 120. */
  jobTimeoutSeconds: number;
  /** Sweeper period. Default 5,000 ms. */
  sweepIntervalMs: number;
  /** On stop(), how long sends in flight may finish before they are abandoned (recorded as ambiguous). Default 5,000 ms. */
  shutdownGraceMs: number;
  relay: {
    /** Poll for due rows when idle. Default 50 ms. */
    pollMs: number;
    /** ... and while mail is flowing. Default 10 ms. */
    busyPollMs: number;
    /** Rows claimed per relay transaction. Default 200. */
    batchSize: number;
    /**
     * Rows that may wait `queued` in pg-boss at once, counted over all workers.
     * Beyond it the relay leaves due rows in the outbox (in priority order) until the
     * senders catch up. Default 2,000.
     */
    maxQueued: number;
  };
  /** Backoff after a transient failure: baseMs * 2^(attempt-1), jittered +-20%, capped at maxMs. Default 30 s and 1 h. */
  retry: { baseMs: number; maxMs: number };
  /** Sending rates held across all worker processes (messages per second). Default: none. */
  rateLimits: RateLimits;
  /** Staging safety: redirect every email to one address, or send only to some domains (see staging.ts). Default: neither. */
  staging: StagingRules;
  /** Where one-click unsubscribe links point and the secret that signs them; required when a template has `unsubscribe`. Default: none. */
  unsubscribe: UnsubscribeSettings | null;
}

export const DEFAULT_WORKER_SETTINGS: Readonly<WorkerSettings> = Object.freeze({
  from: 'mailroom <no-reply@localhost>',
  messageIdDomain: 'mailroom.localhost',
  frontendBaseUrl: 'http://localhost:3000',
  batchSize: 50,
  concurrency: 2,
  jobTimeoutSeconds: 120,
  sweepIntervalMs: 5_000,
  shutdownGraceMs: 5_000,
  relay: Object.freeze({ pollMs: 50, busyPollMs: 2, batchSize: 200, maxQueued: 2_000 }),
  retry: Object.freeze({ baseMs: 30_000, maxMs: 3_600_000 }),
  rateLimits: Object.freeze({ transports: {}, domains: {}, recoveryMs: 30_000, pauseMs: 60_000 }),
  staging: NO_STAGING_RULES,
  unsubscribe: null,
});

/** Options as a caller gives them: any field may be left out (nested ones too). */
export type WorkerSettingsInput = Partial<Omit<WorkerSettings, 'relay' | 'retry' | 'rateLimits' | 'staging' | 'unsubscribe'>> & {
  unsubscribe?: UnsubscribeSettings | null;
  staging?: Partial<StagingRules>;
  relay?: Partial<WorkerSettings['relay']>;
  retry?: Partial<WorkerSettings['retry']>;
  rateLimits?: Partial<RateLimits>;
};

export function resolveWorkerSettings(input: WorkerSettingsInput = {}): WorkerSettings {
  const d = DEFAULT_WORKER_SETTINGS;
  const settings: WorkerSettings = {
    ...d,
    ...stripUndefined(input),
    relay: { ...d.relay, ...stripUndefined(input.relay ?? {}) },
    retry: { ...d.retry, ...stripUndefined(input.retry ?? {}) },
    rateLimits: { ...d.rateLimits, ...stripUndefined(input.rateLimits ?? {}) },
    staging: resolveStagingRules(input.staging),
    unsubscribe: input.unsubscribe ? checkUnsubscribeSettings(input.unsubscribe, 'startWorker: unsubscribe') : null,
  };
  const check = (ok: boolean, field: string, rule: string) => {
    if (!ok) throw new RangeError(`startWorker: ${field} ${rule}`);
  };
  const int = (value: number, min: number, max: number) => Number.isInteger(value) && value >= min && value <= max;
  check(typeof settings.from === 'string' && settings.from.length > 0 && !/[\r\n]/.test(settings.from), 'from', 'must be one non-empty line');
  check(/^[A-Za-z0-9.-]+$/.test(settings.messageIdDomain), 'messageIdDomain', 'must be a host name');
  check(/^https?:\/\/[^\s]+$/.test(settings.frontendBaseUrl), 'frontendBaseUrl', 'must be an absolute http(s) URL');
  check(int(settings.batchSize, 1, 500), 'batchSize', 'must be an integer from 1 to 500');
  check(int(settings.concurrency, 1, 64), 'concurrency', 'must be an integer from 1 to 64');
  check(int(settings.jobTimeoutSeconds, 1, 86_400), 'jobTimeoutSeconds', 'must be an integer from 1 to 86400');
  check(int(settings.sweepIntervalMs, 100, 3_600_000), 'sweepIntervalMs', 'must be an integer from 100 to 3600000');
  check(int(settings.shutdownGraceMs, 0, 600_000), 'shutdownGraceMs', 'must be an integer from 0 to 600000');
  check(int(settings.relay.pollMs, 5, 60_000), 'relay.pollMs', 'must be an integer from 5 to 60000');
  check(int(settings.relay.busyPollMs, 1, 60_000), 'relay.busyPollMs', 'must be an integer from 1 to 60000');
  check(int(settings.relay.batchSize, 1, 1000), 'relay.batchSize', 'must be an integer from 1 to 1000');
  check(int(settings.relay.maxQueued, 1, 100_000), 'relay.maxQueued', 'must be an integer from 1 to 100000');
  check(int(settings.retry.baseMs, 10, 86_400_000), 'retry.baseMs', 'must be an integer from 10 to 86400000');
  check(int(settings.retry.maxMs, 10, 7 * 86_400_000), 'retry.maxMs', 'must be an integer from 10 to 604800000');
  return settings;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
