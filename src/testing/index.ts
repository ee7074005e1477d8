// mailroom/testing: what an app's own tests import. It reads the real outbox table
// through the test's own executor (its transaction, its pool), as River's and Oban's
// helpers do, and renders an email exactly as the worker would, so a test can follow
// the link in a verification email without running a worker.
//
//   const mailbox = mailroomTesting(config, { baseUrl: 'https://app.test' });
//   const email = await mailbox.expectEnqueued(db, { template: 'welcome', to: 'ada@example.com' });
//   const { subject, links } = await mailbox.render(email);
//
// Failures throw a plain Error (any test runner shows it) listing what was enqueued.
import type { z } from 'zod';
import type { MailroomConfig } from '../define-config.ts';
import { run, type Executor } from '../outbox/executor.ts';
import { catalogueOf } from '../templates/catalogue.ts';
import type { Templates } from '../templates/define.ts';
import { renderEmail, type RenderedEmail } from '../templates/render.ts';

/** One outbox row as a test sees it. */
export interface EnqueuedEmail<T extends Templates = Templates, N extends keyof T & string = keyof T & string> {
  id: string;
  template: N;
  to: string;
  props: z.output<T[N]['schema']>;
  status: string;
  idempotencyKey: string | null;
  priority: number;
  locale: string | null;
  sendAfter: Date;
  notAfter: Date | null;
  createdAt: Date;
}

/** Which emails: every field optional; `props` matches when the row's props contain these (JSON containment). */
export interface EmailFilter<T extends Templates = Templates, N extends keyof T & string = keyof T & string> {
  template?: N;
  to?: string;
  props?: Partial<z.input<T[N]['schema']>>;
}

export interface RenderedTestEmail extends RenderedEmail {
  /** Every distinct http(s) link in the HTML, in order, entities decoded. */
  links: string[];
}

export interface MailroomTesting<T extends Templates> {
  /** The emails in the outbox that match, oldest first (none: an empty array). */
  enqueued<N extends keyof T & string>(executor: Executor, filter?: EmailFilter<T, N>): Promise<EnqueuedEmail<T, N>[]>;
  /** The one matching email; throws when none matches, or when several do (say which with a narrower filter). */
  expectEnqueued<N extends keyof T & string>(executor: Executor, filter?: EmailFilter<T, N>): Promise<EnqueuedEmail<T, N>>;
  /** Throws when any email matches. */
  expectNoneEnqueued<N extends keyof T & string>(executor: Executor, filter?: EmailFilter<T, N>): Promise<void>;
  /** Render an enqueued email (or any template and props) as the worker would, with its links. */
  render(email: { template: string; props: unknown; locale?: string | null }): Promise<RenderedTestEmail>;
}

const SELECT = `
  select id, template, recipient, props, status, idempotency_key, priority, locale, send_after, not_after, created_at
    from mailroom.outbox
   where ($1::text is null or template = $1)
     and ($2::text is null or recipient = $2)
     and ($3::jsonb is null or props @> $3::jsonb)
   order by created_at, ctid`;

interface Row {
  id: string;
  template: string;
  recipient: string;
  props: Record<string, unknown>;
  status: string;
  idempotency_key: string | null;
  priority: number;
  locale: string | null;
  send_after: Date;
  not_after: Date | null;
  created_at: Date;
}

export function mailroomTesting<T extends Templates>(config: MailroomConfig<T>, options: { baseUrl?: string } = {}): MailroomTesting<T> {
  const catalogue = catalogueOf(config);
  const baseUrl = options.baseUrl ?? 'http://localhost:3000';

  async function enqueued(executor: Executor, filter: EmailFilter = {}): Promise<EnqueuedEmail[]> {
    if (filter.template !== undefined && !catalogue.get(filter.template)) {
      throw new Error(`mailroom/testing: unknown template "${filter.template}"; the config has ${catalogue.names.join(', ')}`);
    }
    const rows = await run<Row>(executor, SELECT, [filter.template ?? null, filter.to ?? null, filter.props ? JSON.stringify(filter.props) : null]);
    return rows.map((row) => ({
      id: row.id,
      template: row.template,
      to: row.recipient,
      props: row.props,
      status: row.status,
      idempotencyKey: row.idempotency_key,
      priority: row.priority,
      locale: row.locale,
      sendAfter: new Date(row.send_after),
      notAfter: row.not_after === null ? null : new Date(row.not_after),
      createdAt: new Date(row.created_at),
    }));
  }

  const describe = (filter: EmailFilter) => JSON.stringify(filter);
  const summary = async (executor: Executor) => {
    const all = await enqueued(executor);
    return all.length === 0 ? 'the outbox is empty' : `the outbox holds: ${all.map((e) => `${e.template} to ${e.to}`).join('; ')}`;
  };

  return {
    enqueued: enqueued as MailroomTesting<T>['enqueued'],
    expectEnqueued: (async (executor: Executor, filter: EmailFilter = {}) => {
      const found = await enqueued(executor, filter);
      if (found.length === 1) return found[0]!;
      if (found.length === 0) throw new Error(`expected an email matching ${describe(filter)}, found none; ${await summary(executor)}`);
      throw new Error(`expected one email matching ${describe(filter)}, found ${found.length}: ${found.map((e) => e.id).join(', ')}`);
    }) as MailroomTesting<T>['expectEnqueued'],
    expectNoneEnqueued: async (executor, filter = {}) => {
      const found = await enqueued(executor, filter as EmailFilter);
      if (found.length > 0) {
        throw new Error(`expected no email matching ${describe(filter as EmailFilter)}, found ${found.length}: ${found.map((e) => `${e.template} to ${e.to}`).join('; ')}`);
      }
    },
    async render(email) {
      const rendered = await renderEmail(catalogue, email.template, email.props, { baseUrl, ...(email.locale ? { locale: email.locale } : {}) });
      const links = [...rendered.html.matchAll(/href="(https?:\/\/[^"]+)"/g)].map((m) => decodeEntities(m[1]!));
      return { ...rendered, links: [...new Set(links)] };
    },
  };
}

function decodeEntities(text: string): string {
  return text.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}
