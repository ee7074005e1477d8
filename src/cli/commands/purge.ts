// `mailroom purge`: retention from cron or by hand. Safe to run while workers send:
// it touches only settled rows, in short batches.
import { parseDuration } from '../../admin/outbox-admin.ts';
import { ValidationError } from '../../errors.ts';
import { purge } from '../../retention/purge.ts';
import { catalogueOf } from '../../templates/catalogue.ts';
import { loadConfigFile } from '../load-config.ts';
import { withDb } from './outbox.ts';

export interface PurgeFlags {
  sentOlderThan: string;
  failedOlderThan: string;
  scrubOlderThan: string;
  batchSize: string;
  dryRun?: boolean;
  json?: boolean;
  config?: string;
}

export async function purgeCommand(flags: PurgeFlags): Promise<void> {
  const batchSize = Number(flags.batchSize);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
    throw new ValidationError('--batch-size', `must be an integer from 1 to 100000 (got "${flags.batchSize}")`);
  }
  const options = {
    catalogue: catalogueOf((await loadConfigFile(flags.config)).config),
    sentOlderThanMs: parseDuration(flags.sentOlderThan, '--sent-older-than'),
    failedOlderThanMs: parseDuration(flags.failedOlderThan, '--failed-older-than'),
    scrubOlderThanMs: parseDuration(flags.scrubOlderThan, '--scrub-older-than'),
    batchSize,
    dryRun: flags.dryRun ?? false,
  };
  const result = await withDb((db) => purge(db.pool, options));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ dryRun: options.dryRun, ...result })}\n`);
    return;
  }
  const verb = options.dryRun ? 'would' : '';
  process.stdout.write(
    [
      `${options.dryRun ? 'dry run: nothing changed\n' : ''}sent rows ${verb ? 'that would be ' : ''}deleted:        ${result.sent}`,
      `unsent settled rows ${verb ? 'that would be ' : ''}deleted: ${result.failed}  (failed, cancelled, expired, suppressed)`,
      `rows ${verb ? 'that would be ' : ''}scrubbed of sensitive props: ${result.scrubbed}`,
    ].join('\n') + '\n',
  );
}
