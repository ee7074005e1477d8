// The environment, read and validated once at start-up. Every variable the code
// reads is listed here and in .env.example; an invalid value stops the process
// with a message naming the variable.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import type { DatabaseOptions } from '../db/connect.ts';
import { isValidAddress } from '../outbox/validate.ts';
import { checkUnsubscribeSettings, MIN_SECRET_LENGTH, type UnsubscribeSettings } from '../unsubscribe/link.ts';
import type { WorkerSettings } from '../worker/settings.ts';
import { DOMAIN } from '../worker/staging.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const transportName = z.enum(['smtp', 'mailjet', 'capture']);
export type TransportName = z.infer<typeof transportName>;

/** One transport, or an ordered failover list: `mailjet,smtp`. */
const transportList = z
  .string()
  .transform((text) => text.split(',').map((name) => name.trim()))
  .pipe(
    z
      .array(transportName, { error: 'must name smtp, mailjet or capture, or a comma-separated list of them' })
      .min(1)
      .refine((names) => new Set(names).size === names.length, 'must not name a transport twice'),
  );

/**
 * Messages per second per name: `smtp:50,mailjet:100` or `gmail.com:10,example.org:0.5`.
 * A rate is a positive number (fractions allowed); each name at most once.
 */
const rateList = (nameRule: { pattern: RegExp; what: string }) =>
  z.string().transform((text, ctx) => {
    const rates = new Map<string, number>();
    for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
      const match = /^([^:\s]+):(\d+(?:\.\d+)?)$/.exec(part);
      const name = match?.[1]?.toLowerCase();
      const rate = Number(match?.[2]);
      if (!match || !name || !nameRule.pattern.test(name) || !(rate > 0) || rate > 100_000) {
        ctx.addIssue({ code: 'custom', message: `must be a comma-separated list of ${nameRule.what}:messages-per-second (a number above 0, at most 100000), e.g. ${nameRule.what === 'transport' ? 'smtp:50,mailjet:100' : 'gmail.com:10,example.org:2'}; "${part}" is not` });
        return z.NEVER;
      }
      if (rates.has(name)) {
        ctx.addIssue({ code: 'custom', message: `names ${name} twice` });
        return z.NEVER;
      }
      rates.set(name, rate);
    }
    return Object.freeze(Object.fromEntries(rates)) as Readonly<Record<string, number>>;
  });

/**
 * Which proxies to believe about the client's address and protocol (X-Forwarded-For,
 * X-Forwarded-Proto): a hop count (`1`: the one proxy in front), or a comma-separated
 * list of addresses and CIDR ranges. Unset: none (never `true`: any client could then
 * claim any address).
 */
const trustProxy = z.string().transform((text, ctx): number | string[] => {
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops >= 1 && hops <= 10) return hops;
  } else {
    const entries = text.split(',').map((part) => part.trim()).filter(Boolean);
    const valid = (entry: string) => {
      const [address, bits, extra] = entry.split('/');
      const version = isIP(address ?? '');
      if (!version || extra !== undefined) return false;
      if (bits === undefined) return true;
      const n = Number(bits);
      return /^\d+$/.test(bits) && n >= 0 && n <= (version === 4 ? 32 : 128);
    };
    if (entries.length > 0 && entries.every(valid)) return entries;
  }
  ctx.addIssue({ code: 'custom', message: 'must be a hop count from 1 to 10, or a comma-separated list of IP addresses and CIDR ranges (e.g. 10.0.0.0/8,127.0.0.1)' });
  return z.NEVER;
});

const schema = z
  .object({
    DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
    MAIL_TRANSPORT: transportList.default(['capture']),
    // Failover between the transports of a list: open a circuit after this many
    // consecutive provider failures, probe it again after this long.
    FAILOVER_AFTER: int(1, 1000).default(5),
    FAILOVER_PROBE_MS: int(100, 86_400_000).default(30_000),
    // Sending rates held across all worker processes (src/ratelimit/): per transport
    // and per recipient domain, in messages per second.
    RATE_LIMIT_TRANSPORTS: rateList({ pattern: /^(smtp|mailjet|capture)$/, what: 'transport' }).default({}),
    RATE_LIMIT_DOMAINS: rateList({ pattern: /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/, what: 'domain' }).default({}),
    // Staging safety (src/worker/staging.ts): every email to this one address instead,
    // and/or only these recipient domains get email (the others end suppressed, or are
    // redirected when MAIL_REDIRECT_TO is set too).
    MAIL_REDIRECT_TO: z.string().refine(isValidAddress, 'must be one email address').optional(),
    MAIL_ALLOWED_DOMAINS: z
      .string()
      .transform((list) => list.split(',').map((d) => d.trim().toLowerCase()))
      .refine((domains) => domains.every((d) => DOMAIN.test(d)), 'must be a comma-separated list of domains like example.com,example.org')
      .optional(),
    // One-click unsubscribe links (src/unsubscribe/): where `mailroom serve` answers
    // them (https; http only for localhost), and the secret that seals them, the same
    // for the worker (makes links) and serve (reads them). Required when a template
    // has `unsubscribe`; `mailroom dev` makes both up when unset.
    UNSUBSCRIBE_BASE_URL: z.string().optional(),
    UNSUBSCRIBE_SECRET: z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -base64 32\`)`).regex(/^\S+$/, 'must not contain spaces').optional(),
    // After a throttled reply (SMTP 421, HTTP 429) a transport's rate is halved; it
    // doubles back over this long.
    RATE_LIMIT_RECOVERY_MS: int(100, 86_400_000).default(30_000),
    // A transport that refused our credentials or certificate is paused this long, in every worker.
    TRANSPORT_PAUSE_MS: int(100, 86_400_000).default(60_000),
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
      .optional(),
    SMTP_MAX_CONNECTIONS: int(1, 100).default(5),
    // TLS (smtps:// or STARTTLS): check the server's certificate (unset: yes, but not for
    // 127.0.0.1/localhost), trust this CA's PEM file, refuse to send unencrypted.
    SMTP_TLS_REJECT_UNAUTHORIZED: bool.optional(),
    SMTP_TLS_CA_FILE: z.string().refine((path) => existsSync(path), 'must be a readable PEM file (no such file)').optional(),
    SMTP_REQUIRE_TLS: bool.default(false),
    MAILJET_API_KEY: z.string().regex(/^\S+$/, 'must not contain spaces').optional(),
    MAILJET_API_SECRET: z.string().regex(/^\S+$/, 'must not contain spaces').optional(),
    MAILJET_API_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    MAILJET_SANDBOX: bool.default(false),
    MAILJET_TIMEOUT_MS: int(100, 600_000).default(15_000),
    MAILJET_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').regex(/^[^\s:]+$/, 'must not contain spaces or colons').optional(),
    // Turns on the admin pages (/admin) of `mailroom serve`: the sign-in token. Unset: /admin answers 404.
    ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters (e.g. `openssl rand -base64 32`)').regex(/^\S+$/, 'must not contain spaces').optional(),
    SMTP_TIMEOUT_MS: int(100, 600_000).default(15_000),
    MAIL_FROM: z
      .string()
      .regex(/^[^\r\n]+$/, 'must be one line')
      .default('mailroom <no-reply@localhost>'),
    MESSAGE_ID_DOMAIN: z
      .string()
      .regex(/^[A-Za-z0-9.-]+$/, 'must be a host name')
      .default('mailroom.localhost'),
    CAPTURE_DIR: z.string().default('.data/mail'),
    FRONTEND_BASE_URL: z
      .url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })
      .default('http://localhost:3000'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_PRETTY: bool.optional(),
    // `mailroom serve`: where the HTTP server listens (docker-compose sets HOST=0.0.0.0).
    PORT: int(1, 65_535).default(3000),
    HOST: z
      .string()
      .regex(/^[A-Za-z0-9.:_-]+$/, 'must be a host name or an IP address')
      .default('127.0.0.1'),
    // `mailroom worker`: serve /healthz, /readyz and /metrics on this port (unset: no HTTP).
    WORKER_PORT: int(1, 65_535).optional(),
    // Relay: how often it looks for due rows when idle, and how many it claims at once.
    RELAY_POLL_MS: int(5, 60_000).default(50),
    // ... and while mail is flowing (rows found within the last second).
    RELAY_BUSY_POLL_MS: int(1, 60_000).default(2),
    RELAY_BATCH_SIZE: int(1, 1000).default(200),
    // ... and how many may wait in pg-boss at once (all workers together); the rest wait due in the outbox.
    RELAY_MAX_QUEUED: int(1, 100_000).default(2_000),
    // Sender: jobs per batch and batches in flight per process.
    WORKER_BATCH_SIZE: int(1, 500).default(50),
    WORKER_CONCURRENCY: int(1, 64).default(2),
    // How long a job may stay active before the sweeper treats its worker as dead.
    WORKER_JOB_TIMEOUT_S: int(1, 86_400).default(120),
    SWEEP_INTERVAL_MS: int(100, 3_600_000).default(5_000),
    // How long SIGTERM waits for sends in flight before aborting them.
    SHUTDOWN_GRACE_MS: int(0, 600_000).default(5_000),
    // Every pool to PostgreSQL: how long a connection attempt may take, how long one
    // statement may run and a transaction may sit idle (0: no limit), and TCP keepalive
    // (idle time before the first probe; 0: off), so a database that stops answering
    // fails requests and shutdowns instead of hanging them.
    PG_CONNECT_TIMEOUT_MS: int(100, 600_000).default(10_000),
    PG_STATEMENT_TIMEOUT_MS: int(0, 86_400_000).default(60_000),
    PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(0, 86_400_000).default(60_000),
    PG_KEEPALIVE_IDLE_MS: int(0, 3_600_000).default(10_000),
    // A worker or server started while PostgreSQL is unreachable retries with backoff,
    // logging each try; after this long it exits non-zero (0: retry for ever).
    STARTUP_DEADLINE_MS: int(0, 86_400_000).default(0),
    // HTTP (serve, dev, a worker's probes): the longest a request may take to arrive
    // whole, headers and body; a slower client is cut off.
    HTTP_REQUEST_TIMEOUT_MS: int(1_000, 600_000).default(30_000),
    // Behind a reverse proxy: see trustProxy above. Unset: the socket's address is the client's.
    TRUST_PROXY: trustProxy.optional(),
    // Admin sign-in attempts per client address a minute.
    ADMIN_LOGIN_RATE_LIMIT: int(1, 10_000).default(10),
    // Backoff after a transient failure: base * 2^(attempt-1), jittered +-20%, capped.
    RETRY_BASE_MS: int(10, 86_400_000).default(30_000),
    RETRY_MAX_MS: int(10, 7 * 86_400_000).default(3_600_000),
  })
  .superRefine((env, ctx) => {
    if (env.UNSUBSCRIBE_BASE_URL !== undefined || env.UNSUBSCRIBE_SECRET !== undefined) {
      if (env.UNSUBSCRIBE_SECRET === undefined) ctx.addIssue({ code: 'custom', path: ['UNSUBSCRIBE_SECRET'], message: 'is required with UNSUBSCRIBE_BASE_URL' });
      else if (env.UNSUBSCRIBE_BASE_URL === undefined) ctx.addIssue({ code: 'custom', path: ['UNSUBSCRIBE_BASE_URL'], message: 'is required with UNSUBSCRIBE_SECRET' });
      else {
        try {
          checkUnsubscribeSettings({ baseUrl: env.UNSUBSCRIBE_BASE_URL, secret: env.UNSUBSCRIBE_SECRET }, 'unsubscribe');
        } catch (error) {
          ctx.addIssue({ code: 'custom', path: ['UNSUBSCRIBE_BASE_URL'], message: (error as Error).message.replace(/^unsubscribe\.baseUrl /, '') });
        }
      }
    }
    const uses = (name: TransportName) => env.MAIL_TRANSPORT.includes(name);
    if (uses('smtp') && !env.SMTP_URL) {
      ctx.addIssue({ code: 'custom', path: ['SMTP_URL'], message: 'is required when MAIL_TRANSPORT=smtp' });
    }
    if (uses('mailjet')) {
      for (const key of ['MAILJET_API_KEY', 'MAILJET_API_SECRET'] as const) {
        if (!env[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'is required when MAIL_TRANSPORT=mailjet' });
      }
    }
    // The chosen transports' own timeouts must end a send before the job's lease
    // does, or a slow send would be taken for a dead worker and sent again.
    const timeouts = [
      ...(uses('smtp') ? [['SMTP_TIMEOUT_MS', env.SMTP_TIMEOUT_MS] as const] : []),
      ...(uses('mailjet') ? [['MAILJET_TIMEOUT_MS', env.MAILJET_TIMEOUT_MS] as const] : []),
    ].sort((a, b) => b[1] - a[1]);
    const sendTimeout = timeouts[0];
    if (sendTimeout && env.WORKER_JOB_TIMEOUT_S * 1000 <= sendTimeout[1]) {
      ctx.addIssue({
        code: 'custom',
        path: ['WORKER_JOB_TIMEOUT_S'],
        message: `must exceed ${sendTimeout[0]} (${sendTimeout[1]} ms): a slow send would be taken for a dead worker`,
      });
    }
  });

export type Config = Readonly<z.output<typeof schema>>;

/** The schema itself: its keys are the variables mailroom reads (test/config.env-parity.test.ts). */
export const configSchema = schema;

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

/** Read the configuration from an environment (process.env by default). Throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means unset, as in most .env tooling.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const shown = variable in present && !/SECRET|PASSWORD|TOKEN|KEY|URL/.test(variable) ? ` (got "${present[variable]}")` : '';
    throw new ConfigError(variable, `${issue.message}${shown}`);
  }
  return Object.freeze(parsed.data);
}

/** The worker's options from the environment (every field; the defaults are the schema's). */
export function workerSettingsFromEnv(config: Config): WorkerSettings {
  return {
    from: config.MAIL_FROM,
    messageIdDomain: config.MESSAGE_ID_DOMAIN,
    frontendBaseUrl: config.FRONTEND_BASE_URL,
    batchSize: config.WORKER_BATCH_SIZE,
    concurrency: config.WORKER_CONCURRENCY,
    jobTimeoutSeconds: config.WORKER_JOB_TIMEOUT_S,
    sweepIntervalMs: config.SWEEP_INTERVAL_MS,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    relay: { pollMs: config.RELAY_POLL_MS, busyPollMs: config.RELAY_BUSY_POLL_MS, batchSize: config.RELAY_BATCH_SIZE, maxQueued: config.RELAY_MAX_QUEUED },
    retry: { baseMs: config.RETRY_BASE_MS, maxMs: config.RETRY_MAX_MS },
    rateLimits: {
      transports: config.RATE_LIMIT_TRANSPORTS,
      domains: config.RATE_LIMIT_DOMAINS,
      recoveryMs: config.RATE_LIMIT_RECOVERY_MS,
      pauseMs: config.TRANSPORT_PAUSE_MS,
    },
    staging: { redirectTo: config.MAIL_REDIRECT_TO ?? null, allowedDomains: config.MAIL_ALLOWED_DOMAINS ?? null },
    unsubscribe: unsubscribeSettingsFromEnv(config),
  };
}

/** The timeouts and keepalive of every pool to PostgreSQL, from the environment (the PG_* variables). */
export function databaseOptionsFromEnv(config: Config): Required<DatabaseOptions> {
  return {
    connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.PG_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAliveIdleMs: config.PG_KEEPALIVE_IDLE_MS,
  };
}

/** UNSUBSCRIBE_BASE_URL and UNSUBSCRIBE_SECRET (checked together by the schema); null when unset. */
export function unsubscribeSettingsFromEnv(config: Config): UnsubscribeSettings | null {
  return config.UNSUBSCRIBE_BASE_URL && config.UNSUBSCRIBE_SECRET ? { baseUrl: config.UNSUBSCRIBE_BASE_URL, secret: config.UNSUBSCRIBE_SECRET } : null;
}
