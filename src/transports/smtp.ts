// SMTP through nodemailer's pool: a few long-lived connections, each reused for
// many messages (700-800 messages/s to a local server, against ~10/s unpooled).
import { readFileSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import nodemailer from 'nodemailer';
import { SendError } from '../errors.ts';
import { mimeHeaders, type OutgoingEmail, type SendReceipt, type Transport } from './transport.ts';

export interface SmtpOptions {
  /** `smtp://user:password@host:port` or `smtps://...` (credentials URL-encoded). */
  url: string;
  /** Pooled connections to the server. Default 5. */
  maxConnections?: number;
  /** Connect, greeting and socket timeout of every send. Default 15,000 ms. */
  timeoutMs?: number;
  /**
   * Check the server's certificate (smtps:// and STARTTLS). Unset: yes, except for
   * 127.0.0.1 and localhost (Mailpit and other local sinks offer no certificate worth checking).
   */
  tlsRejectUnauthorized?: boolean;
  /** PEM file of the CA (or self-signed certificate) to trust, for a server with a private CA. */
  tlsCaFile?: string;
  /** Refuse to send unless the connection is encrypted (smtps://, or STARTTLS offered and taken). */
  requireTls?: boolean;
}

interface SmtpError extends Error {
  code?: string;
  /** The system error under nodemailer's code, e.g. DEPTH_ZERO_SELF_SIGNED_CERT under ESOCKET. */
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/** What we know of one message on the wire. */
interface Progress {
  /** The whole message body, terminator included, went to the socket: the server may have it. */
  dataSent: boolean;
}

const LOCAL = /^smtps?:\/\/([^@/]*@)?(127\.0\.0\.1|localhost)[:/]?/;

export function createSmtpTransport(options: SmtpOptions): Transport {
  if (typeof options?.url !== 'string' || !/^smtps?:\/\//.test(options.url)) throw new RangeError('smtpTransport: url must be an smtp:// or smtps:// URL');
  options = { maxConnections: 5, timeoutMs: 15_000, ...options };
  const transporter = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: options.maxConnections,
    maxMessages: 1000,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    ...(options.requireTls ? { requireTLS: true } : {}),
    tls: {
      rejectUnauthorized: options.tlsRejectUnauthorized ?? !LOCAL.test(options.url),
      ...(options.tlsCaFile ? { ca: readFileSync(options.tlsCaFile) } : {}),
    },
  });
  // nodemailer reports every lost connection and every socket timeout as command
  // `CONN`, whether it happened at the greeting or while waiting for the reply to
  // the end of DATA. So each message's stream is watched: once it has been read to
  // its end, the body and its final `.` were handed to the connection, and a
  // connection lost from then on may have delivered the message (ambiguous).
  const progress = new Map<string, Progress>();
  transporter.use('stream', (mail, done) => {
    const watched = progress.get(String(mail.data.messageId));
    if (watched) {
      mail.message.processFunc((input: Readable) => {
        const tap = new PassThrough();
        tap.once('end', () => (watched.dataSent = true));
        return input.pipe(tap);
      });
    }
    done();
  });
  let closed = false;

  return {
    name: 'smtp',
    async send(email: OutgoingEmail): Promise<SendReceipt> {
      if (closed) throw new SendError('transient', 'smtp transport is closed');
      const watched: Progress = { dataSent: false };
      progress.set(email.messageId, watched);
      try {
        const info = await transporter.sendMail({
          messageId: email.messageId,
          from: email.from,
          to: email.to,
          subject: email.subject,
          html: email.html,
          text: email.text,
          ...(email.replyTo ? { replyTo: email.replyTo } : {}),
          headers: mimeHeaders(email),
        });
        const response = typeof info.response === 'string' ? info.response : null;
        return {
          providerMessageId: info.messageId ?? null,
          responseCode: response ? Number(/^\d{3}/.exec(response)?.[0]) || null : null,
          response,
        };
      } catch (error) {
        throw classifySmtpError(error as SmtpError, watched);
      } finally {
        progress.delete(email.messageId);
      }
    },
    async close() {
      closed = true;
      transporter.close();
    },
  };
}

/** Certificate problems: the server's certificate is not trusted with these settings. */
const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME/;

/**
 * 4xx and network trouble: try later. 5xx: the server refused this message for
 * good. Bad credentials, an untrusted certificate, TLS required but not offered:
 * our configuration, not the email's fault. A connection lost or timed out after
 * the whole message went out, with no reply: ambiguous (it may have been delivered).
 */
export function classifySmtpError(error: SmtpError, progress?: Progress): SendError {
  const code = error.responseCode;
  const message = error.message.replace(/\s+/g, ' ').slice(0, 1000);
  if (error.code === 'EAUTH' || code === 530 || code === 535) return new SendError('config', message, code, error.response);
  if (CERTIFICATE.test(`${error.originalCode ?? ''} ${error.code ?? ''}`)) {
    return new SendError('config', `untrusted TLS certificate (${error.originalCode ?? error.code}); set SMTP_TLS_CA_FILE or SMTP_TLS_REJECT_UNAUTHORIZED: ${message}`, code, error.response);
  }
  if (error.code === 'ETLS' && /STARTTLS/i.test(message)) return new SendError('config', `could not encrypt the connection (STARTTLS): ${message}`, code, error.response);
  // 421: the server is shedding load ("try again later", often a rate limit): slow down.
  if (code === 421) return new SendError('throttled', message, code, error.response);
  if (code && code >= 400 && code < 500) return new SendError('transient', message, code, error.response);
  if (code && code >= 500) return new SendError('permanent', message, code, error.response);
  if (error.code === 'EENVELOPE') return new SendError('permanent', message, code, error.response);
  if (progress?.dataSent) {
    return new SendError('ambiguous', `no reply after the message data was sent (${error.code ?? 'error'}); it may have been delivered: ${message}`, code, error.response);
  }
  return new SendError('transient', message, code, error.response);
}
