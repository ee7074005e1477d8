// pino, with the paths that could carry a token or a secret censored wherever they
// appear. Readable output when LOG_PRETTY is on (the default for `mailroom dev`).
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

const REDACT = [
  'props',
  '*.props',
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  'databaseUrl',
  'smtpUrl',
];

export function createLogger(options: { level: string; pretty?: boolean; name?: string }): Logger {
  return pino({
    name: options.name ?? 'mailroom',
    level: options.level,
    redact: { paths: REDACT, censor: '[redacted]' },
    ...(options.pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {}),
  });
}
