// The app's handle on its outbox: enqueue typed by its own config.
//   const mail = createMailroom(config);
//   await mail.enqueue(trx, { template: 'welcome', to, props: { name } });
import type { MailroomConfig } from '../define-config.ts';
import { catalogueOf } from '../templates/catalogue.ts';
import type { Templates } from '../templates/define.ts';
import { enqueueEmail, type AnyEmail, type EnqueueEmail } from './enqueue-email.ts';
import { enqueueEmails } from './enqueue-emails.ts';
import type { Executor } from './executor.ts';
import { validateEnqueue } from './validate.ts';

export interface Mailroom<T extends Templates = Templates> {
  readonly config: MailroomConfig<T>;
  /**
   * Write one email into the outbox in the caller's transaction (one INSERT) and
   * return its id. Throws ValidationError naming the field before writing anything.
   */
  enqueue<N extends keyof T & string>(executor: Executor, email: EnqueueEmail<T, N>): Promise<string>;
  /** Many emails in one INSERT, all validated first; ids in input order. Errors name the index: `2.props.token`. */
  enqueueMany(executor: Executor, emails: readonly AnyEmail<T>[]): Promise<string[]>;
  /** The checks enqueue makes, without writing: throws ValidationError. */
  validate<N extends keyof T & string>(email: EnqueueEmail<T, N>): void;
}

export interface MailroomOptions {
  /**
   * On a node-postgres client or pool, run enqueue's INSERT as a named prepared
   * statement, planned once per connection (default true). Set false behind
   * PgBouncer in transaction mode older than 1.21, or without
   * `max_prepared_statements`: it cannot keep a statement prepared on one
   * connection for the next transaction. Kysely and Queryable executors always run it unnamed.
   */
  preparedStatements?: boolean;
}

export function createMailroom<T extends Templates>(config: MailroomConfig<T>, options: MailroomOptions = {}): Mailroom<T> {
  const catalogue = catalogueOf(config);
  const enqueueOptions = { preparedStatements: options.preparedStatements ?? true };
  return {
    config,
    enqueue: (executor, email) => enqueueEmail(catalogue, executor, email as EnqueueEmail, enqueueOptions),
    enqueueMany: (executor, emails) => enqueueEmails(catalogue, executor, emails as readonly EnqueueEmail[]),
    validate: (email) => void validateEnqueue(catalogue, email as EnqueueEmail),
  };
}
