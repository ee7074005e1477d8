// `mailroom <command>`: each command is a thin shell over the modules that do the work.
import { Command } from 'commander';
import { databaseOptionsFromEnv, loadConfig } from './env.ts';
import { ValidationError } from '../errors.ts';
import { migrate } from '../migrate.ts';
import { devCommand } from './commands/dev.ts';
import { capturedCommand } from './commands/captured.ts';
import { cancelCommand, listCommand, replayCommand, showCommand, statusCommand } from './commands/outbox.ts';
import { purgeCommand } from './commands/purge.ts';
import { forgetCommand } from './commands/forget.ts';
import { previewCommand } from './commands/preview.ts';
import { serveCommand } from './commands/serve.ts';
import { suppressAddCommand, suppressListCommand, suppressRemoveCommand } from './commands/suppress.ts';
import { optOutAddCommand, optOutListCommand, optOutRemoveCommand } from './commands/opt-out.ts';
import { workerCommand } from './commands/worker.ts';
import { loadConfigFile } from './load-config.ts';
import { exitWithError } from './process.ts';

const program = new Command('mailroom')
  .description('A transactional email outbox for PostgreSQL.')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(`mailroom: ${text.replace(/^error: /, '')}`) });

/** Commands that need the app's templates take --config (default: mailroom.config.{ts,mts,mjs,js} here, or MAILROOM_CONFIG). */
const withConfig = (command: Command) =>
  command.option('--config <file>', 'the app\'s mailroom config (default: mailroom.config.{ts,mts,mjs,js} in this folder, or MAILROOM_CONFIG)');

withConfig(
  program
    .command('migrate')
    .description('create or update the mailroom schema, the config\'s template catalogue and pg-boss in DATABASE_URL, then run the config\'s own migrations'),
).action(async (flags: { config?: string }) => {
  const config = loadConfig();
  if (!config.DATABASE_URL) throw new ValidationError('DATABASE_URL', 'is required (e.g. postgres://user@host/db)');
  const { config: mailroomConfig } = await loadConfigFile(flags.config);
  const { applied } = await migrate({ databaseUrl: config.DATABASE_URL, config: mailroomConfig, database: databaseOptionsFromEnv(config) });
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
});

withConfig(program.command('worker').description('run the relay, the sender and the sweeper until SIGTERM')).action(workerCommand);

withConfig(
  program.command('serve').description('run the HTTP server (probes, /metrics, webhooks, admin pages, and the config\'s routes) on HOST:PORT until SIGTERM'),
).action(serveCommand);

withConfig(
  program
    .command('dev')
    .description('everything in one process: embedded PostgreSQL (unless DATABASE_URL is set), migrations, worker, captured mail'),
)
  .option('--data-dir <dir>', 'where the embedded PostgreSQL keeps its data', '.data/postgres')
  .action((options: { dataDir: string; config?: string }) => devCommand(options));

program.command('status').description('rows by status and the age of the oldest due row').option('--json').action(statusCommand);

const withFilters = (command: Command) =>
  command
    .option('--status <status>', 'pending, queued, sending, retrying, sent, failed, cancelled, suppressed or expired')
    .option('--template <name>', 'template name')
    .option('--recipient <address>', 'recipient address')
    .option('--since <duration>', 'created within, e.g. 15m, 1h, 7d');

withFilters(program.command('list').description('latest outbox rows, newest first'))
  .option('--limit <n>', 'how many rows', '50')
  .option('--json')
  .action(listCommand);

withConfig(program
  .command('show'))
  .description('one row with all its attempts')
  .argument('<id>', 'outbox id')
  .option('--json')
  .action(showCommand);

withFilters(
  program
    .command('replay')
    .description('put failed (or expired, cancelled) rows back in line: by id, or by filter')
    .argument('[ids...]', 'outbox ids'),
)
  .option('--dry-run', 'show what would be replayed, change nothing')
  .option('--resend', 'also replay rows that were sent')
  .option('--json')
  .action(replayCommand);

withConfig(program
  .command('preview'))
  .description('render one email as the worker would: HTML, or --text with its subject')
  .argument('<template>', 'template name')
  .option('--props <file.json>', 'props to render with (default: the template\'s PreviewProps)')
  .option('--locale <locale>', 'e.g. en, fr')
  .option('--text', 'the subject and plain-text part instead of HTML')
  .option('--out <file>', 'write to a file instead of standard output')
  .action(previewCommand);

const suppress = program.command('suppress').description('the suppression list: addresses that get no email');
suppress
  .command('add')
  .argument('<address>')
  .option('--reason <reason>', 'why', 'manual')
  .description('stop all email to an address')
  .action(suppressAddCommand);
suppress.command('remove').argument('<address>').description('lift a suppression').action(suppressRemoveCommand);
suppress.command('list').option('--json').description('suppressed addresses, newest first').action(suppressListCommand);

const optOut = program.command('opt-out').description('opt-outs: addresses that unsubscribed from a category of non-essential email');
optOut.command('add').argument('<address>').requiredOption('--category <category>', 'the category (a template\'s unsubscribe.category)').description('stop one category of email to an address').action(optOutAddCommand);
optOut.command('remove').argument('<address>').option('--category <category>', 'only this category (default: all)').description('lift an opt-out').action(optOutRemoveCommand);
optOut.command('list').option('--address <address>').option('--json').description('opt-outs, newest first').action(optOutListCommand);

program
  .command('captured')
  .description('the latest messages written by the capture transport (CAPTURE_DIR), newest first')
  .option('--limit <n>', 'how many', '20')
  .option('--json')
  .action(capturedCommand);

withConfig(program
  .command('purge'))
  .description('retention: delete old settled rows (and their attempts) in small batches; scrub tokens from unsent ones')
  .option('--sent-older-than <age>', 'delete sent rows sent longer ago than this', '30d')
  .option('--failed-older-than <age>', 'delete failed, cancelled, expired and suppressed rows older than this', '90d')
  .option('--scrub-older-than <age>', 'remove sensitive props (tokens) from unsent settled rows older than this', '7d')
  .option('--batch-size <n>', 'rows per statement', '1000')
  .option('--dry-run', 'count what would change, change nothing')
  .option('--json')
  .action(purgeCommand);

program
  .command('forget')
  .description('erasure: anonymise an address\'s outbox rows, attempts and provider events and delete its suppression entry, in small batches')
  .argument('<address>', 'the email address to erase, in any case')
  .option('--requested-by <who>', 'who asked, kept in mailroom.erasure (a ticket, a team; never the address)')
  .option('--batch-size <n>', 'outbox rows per statement', '1000')
  .option('--json')
  .action(forgetCommand);

withFilters(
  program
    .command('cancel')
    .description('cancel rows that have not been sent: by id, or by filter (pending, queued or retrying rows only)')
    .argument('[ids...]', 'outbox ids'),
)
  .option('--dry-run', 'show what would be cancelled, change nothing')
  .option('--json')
  .action(cancelCommand);

program.parseAsync(process.argv).catch(exitWithError);
