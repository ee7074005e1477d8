// Mailjet's Send API v3.1 through node-mailjet, one message per call: in a
// multi-message call one bad message makes the whole call 400 while the others
// went out (LIBRARIES.md), which would blur every attempt row.
import Mailjet from 'node-mailjet';
import { SendError } from '../errors.ts';
import type { OutgoingEmail, SendReceipt, Transport } from './transport.ts';

export interface MailjetOptions {
  apiKey: string;
  apiSecret: string;
  /** A plain-HTTP endpoint standing in for api.mailjet.com (a stub); requests go through it as a proxy. */
  apiUrl?: string;
  /** Timeout of every API call. Default 15,000 ms. */
  timeoutMs?: number;
  /** Mailjet validates and answers without delivering. Default false. */
  sandbox?: boolean;
}

interface MailjetError extends Error {
  statusCode?: number | null;
  code?: string;
  response?: { data?: unknown };
}

interface SendResponse {
  Messages?: { Status?: string; To?: { Email?: string; MessageID?: number | string; MessageUUID?: string }[] }[];
}

export function createMailjetTransport(options: MailjetOptions): Transport {
  if (!options?.apiKey || !options.apiSecret) throw new RangeError('mailjetTransport: apiKey and apiSecret are required');
  options = { timeoutMs: 15_000, sandbox: false, ...options };
  const client = new Mailjet.Client({
    apiKey: options.apiKey,
    apiSecret: options.apiSecret,
    options: {
      timeout: options.timeoutMs,
      // node-mailjet always speaks https to api.mailjet.com; a stub is reached as an
      // HTTP proxy, which then sees the full https URL as the request target.
      ...(options.apiUrl ? { proxy: proxyFor(options.apiUrl) } : {}),
    },
  });
  let closed = false;

  return {
    name: 'mailjet',
    async send(email: OutgoingEmail): Promise<SendReceipt> {
      if (closed) throw new SendError('transient', 'mailjet transport is closed');
      const from = parseFrom(email.from);
      try {
        const result = await client.post('send', { version: 'v3.1' }).request({
          SandboxMode: options.sandbox,
          Messages: [
            {
              From: from,
              To: [{ Email: email.to }],
              Subject: email.subject,
              TextPart: email.text,
              HTMLPart: email.html,
              // The same on every try of this row: a duplicate is recognisable downstream.
              CustomID: email.outboxId,
              Headers: { ...email.headers, 'X-Mailroom-Id': email.outboxId, 'X-Mailroom-Message-Id': email.messageId },
              ...(email.replyTo ? { ReplyTo: parseFrom(email.replyTo) } : {}),
              // Echoed back in every event of this message (and grouped in Mailjet's statistics by template).
              ...(email.template ? { CustomCampaign: email.template, EventPayload: JSON.stringify({ template: email.template, tags: email.tags ?? [] }) } : {}),
            },
          ],
        });
        const message = (result.body as SendResponse).Messages?.[0];
        const recipient = message?.To?.[0];
        if (message?.Status !== 'success') {
          throw new SendError('permanent', `mailjet answered status ${message?.Status ?? '(none)'}`, 200, JSON.stringify(result.body).slice(0, 1000));
        }
        const id = recipient?.MessageID ?? recipient?.MessageUUID ?? null;
        return { providerMessageId: id === null ? null : String(id), responseCode: 200, response: `success ${recipient?.MessageUUID ?? ''}`.trim() };
      } catch (error) {
        if (error instanceof SendError) throw error;
        throw classifyMailjetError(error as MailjetError);
      }
    },
    async close() {
      closed = true;
    },
  };
}

/**
 * No status: the network (refused, reset) is transient, a timeout ambiguous (the
 * request went out and may have been accepted). 429: throttled. 5xx: transient.
 * 401/403: our credentials, a configuration fault. Other 4xx: this message is
 * refused for good; Mailjet's ErrorCode and text go into the attempt row.
 */
export function classifyMailjetError(error: MailjetError): SendError {
  const status = error.statusCode ?? undefined;
  const body = error.response?.data;
  const detail = body === undefined ? undefined : JSON.stringify(body).slice(0, 1000);
  if (status === undefined || status === null) {
    const timedOut = error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT' || /timeout/i.test(error.message);
    return new SendError(timedOut ? 'ambiguous' : 'transient', `mailjet: ${error.message}`, undefined, detail);
  }
  if (status === 401 || status === 403) return new SendError('config', `mailjet refused the credentials (HTTP ${status})`, status, detail);
  if (status === 429) return new SendError('throttled', 'mailjet: too many requests (HTTP 429)', status, detail);
  if (status >= 500) return new SendError('transient', `mailjet: HTTP ${status}`, status, detail);
  const first = (body as { Messages?: { Errors?: { ErrorCode?: string; ErrorMessage?: string }[] }[] } | undefined)?.Messages?.[0]?.Errors?.[0];
  const reason = first ? `${first.ErrorCode ?? ''} ${first.ErrorMessage ?? ''}`.trim() : error.message;
  return new SendError('permanent', `mailjet: HTTP ${status}: ${reason}`, status, detail);
}

function proxyFor(apiUrl: string): { protocol: string; host: string; port: number } {
  const url = new URL(apiUrl);
  return { protocol: url.protocol.replace(':', ''), host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
}

/** `Name <address>` or a bare address, as MAIL_FROM and an envelope's From and Reply-To are written. */
function parseFrom(from: string): { Email: string; Name?: string } {
  const match = /^\s*(.*?)\s*<([^>]+)>\s*$/.exec(from);
  if (!match) return { Email: from.trim() };
  return match[1] ? { Email: match[2]!, Name: match[1].replace(/^"|"$/g, '') } : { Email: match[2]! };
}
