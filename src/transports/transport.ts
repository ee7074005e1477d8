// The one contract every transport keeps. send() resolves with what the provider
// said on acceptance, or rejects with a SendError whose class decides what the
// worker does next (retry, fail, slow down).

export interface OutgoingEmail {
  outboxId: string;
  /** `<outbox-id@domain>`: the same on every try, so a duplicate is recognisable downstream. */
  messageId: string;
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Where replies go (the template's envelope.replyTo). */
  replyTo?: string;
  /** Extra header lines (names X-..., one-line values): the template's, and X-Mailroom-Original-To on a staging redirect. */
  headers?: Record<string, string>;
  /** The template's name and tags, for the provider to echo back in its events. */
  template?: string;
  tags?: readonly string[];
}

export interface SendReceipt {
  providerMessageId: string | null;
  responseCode: number | null;
  /** The provider's acceptance line, kept in the attempt row. */
  response: string | null;
  /** Which transport accepted it, when several are in play (failover). */
  transport?: string;
}

export interface Transport {
  readonly name: string;
  send(email: OutgoingEmail): Promise<SendReceipt>;
  /**
   * A failover list: the name of the transport the next send would go through
   * (rate limits are taken from its bucket). Absent on a single transport.
   */
  route?(): string;
  /** Stop accepting sends and drop open connections; sends still in flight reject. */
  close(): Promise<void>;
}

export function messageIdFor(outboxId: string, domain: string): string {
  return `<${outboxId}@${domain}>`;
}

/** The header lines a MIME message of mailroom carries (SMTP and capture): the caller's, then mailroom's own. */
export function mimeHeaders(email: OutgoingEmail): Record<string, string> {
  return {
    ...email.headers,
    'X-Mailroom-Id': email.outboxId,
    ...(email.template ? { 'X-Mailroom-Template': email.template } : {}),
    ...(email.tags?.length ? { 'X-Mailroom-Tags': email.tags.join(', ') } : {}),
  };
}
