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

export function createMailroom<T extends Templates>(config: MailroomConfig<T>): Mailroom<T> {
  const catalogue = catalogueOf(config);
  return {
    config,
    enqueue: (executor, email) => enqueueEmail(catalogue, executor, email as EnqueueEmail),
    enqueueMany: (executor, emails) => enqueueEmails(catalogue, executor, emails as readonly EnqueueEmail[]),
    validate: (email) => void validateEnqueue(catalogue, email as EnqueueEmail),
  };
}
