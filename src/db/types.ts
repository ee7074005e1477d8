// Row types of the mailroom schema, as Kysely sees them. Kept by hand beside
// migrations/; test/schema.test.ts checks that every column here exists.
import type { ColumnType, Generated, GeneratedAlways } from 'kysely';
import type { SqlNode } from '../templates/sql-schema.ts';

export type OutboxStatus =
  | 'pending'
  | 'queued'
  | 'sending'
  | 'retrying'
  | 'sent'
  | 'failed'
  | 'cancelled'
  | 'suppressed'
  | 'expired';

export const TERMINAL_STATUSES = ['sent', 'failed', 'cancelled', 'suppressed', 'expired'] as const;

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface OutboxTable {
  id: Generated<string>;
  template: string;
  recipient: string;
  props: ColumnType<Record<string, unknown>, string, string>;
  locale: string | null;
  traceparent: string | null;
  /** The row's Reply-To, over its template's (migration 0019). */
  reply_to: string | null;
  /** The row's provider tags, added to its template's. */
  tags: string[] | null;
  status: Generated<OutboxStatus>;
  /** The status with queued and sending folded into 'in flight': what the indexes name (migrations/0024). Written by PostgreSQL only. */
  phase: GeneratedAlways<Exclude<OutboxStatus, 'queued' | 'sending'> | 'in flight'>;
  attempts: Generated<number>;
  max_attempts: Generated<number>;
  idempotency_key: string | null;
  priority: Generated<number>;
  send_after: DefaultedTimestamp;
  not_after: Timestamp | null;
  created_at: DefaultedTimestamp;
  queued_at: Timestamp | null;
  /** Until when the relay's hand-off or the sender holds the row (queued, sending); the sweeper takes it back after (migrations/0022). */
  lease_expires_at: Timestamp | null;
  sent_at: Timestamp | null;
  job_id: string | null;
  last_error: string | null;
  provider_message_id: string | null;
  updated_at: DefaultedTimestamp;
}

export interface DeliveryAttemptTable {
  id: ColumnType<string, never, never>;
  outbox_id: string;
  attempt: number;
  transport: string;
  outcome: 'sent' | 'retry' | 'failed';
  error_class: 'transient' | 'permanent' | 'throttled' | 'ambiguous' | 'config' | null;
  provider_message_id: string | null;
  message_id: string | null;
  response_code: number | null;
  response: string | null;
  error_message: string | null;
  started_at: Timestamp;
  finished_at: DefaultedTimestamp;
  /** Where a staging rule (MAIL_REDIRECT_TO) sent this try; null: to the row's recipient. */
  sent_to: string | null;
  /** false: a throttled or configuration try, not counted against max_attempts (migrations/0021). */
  counted: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface TemplateTable {
  name: string;
  required_props: string[];
  header_props: string[];
  prop_types: ColumnType<Record<string, string>, string, string>;
  /** The props check mailroom.enqueue() applies (src/templates/sql-schema.ts); null for rows synced before migration 0010. */
  props_schema: ColumnType<SqlNode | null, string | null | undefined, string | null>;
  priority: number;
  max_attempts: number;
  ttl: string | null;
  updated_at: DefaultedTimestamp;
}

export interface SuppressionTable {
  address: string;
  reason: string;
  source: string;
  created_at: DefaultedTimestamp;
}

export interface DeliveryEventTable {
  id: ColumnType<string, never, never>;
  provider: string;
  event: string;
  address: string;
  outbox_id: string | null;
  provider_message_id: string | null;
  hard: boolean | null;
  reason: string | null;
  occurred_at: Timestamp | null;
  received_at: DefaultedTimestamp;
  payload: ColumnType<unknown, string, string>;
}

/** Who replayed or cancelled a row (migrations/0020). */
export interface OperatorActionTable {
  id: ColumnType<string, never, never>;
  outbox_id: string;
  action: 'replay' | 'resend' | 'cancel';
  actor: string;
  at: DefaultedTimestamp;
}

export interface Database {
  'mailroom.outbox': OutboxTable;
  'mailroom.delivery_attempt': DeliveryAttemptTable;
  'mailroom.template': TemplateTable;
  'mailroom.suppression': SuppressionTable;
  'mailroom.delivery_event': DeliveryEventTable;
  'mailroom.operator_action': OperatorActionTable;
}
