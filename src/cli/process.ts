// Process-level plumbing shared by the long-running commands: start-up errors as
// one clear line, and a clean stop on SIGTERM / SIGINT.
import { ConfigError } from './env.ts';
import { ValidationError } from '../errors.ts';
import { ConfigFileError } from './load-config.ts';

/** Print an error the user can act on and exit non-zero. Unknown errors keep their stack. */
export function exitWithError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`mailroom: configuration error: ${error.message}\n`);
  } else if (error instanceof ConfigFileError || (error instanceof Error && error.name === 'EmbeddedPostgresMissing')) {
    process.stderr.write(`mailroom: ${error.message}\n`);
  } else if (error instanceof ValidationError) {
    process.stderr.write(`mailroom: ${error.message}\n`);
  } else if (error instanceof Error && (error as { code?: string }).code === 'ECONNREFUSED') {
    process.stderr.write(`mailroom: cannot reach PostgreSQL (${error.message}). Is DATABASE_URL right?\n`);
  } else {
    process.stderr.write(`mailroom: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
}

/**
 * Run `stop` once on the first SIGTERM or SIGINT, then exit 0. A second signal
 * exits at once (the operator insists).
 */
export function onShutdownSignal(stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`mailroom: ${signal} again, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    stop(signal).then(
      () => process.exit(0),
      (error) => exitWithError(error),
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
