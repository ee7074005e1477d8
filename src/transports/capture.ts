// Development transport: each message is written as .eml (the exact bytes SMTP
// would carry) and .html (to open in a browser) under CAPTURE_DIR. Nothing leaves the machine.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import { mimeHeaders, type OutgoingEmail, type SendReceipt, type Transport } from './transport.ts';

export interface CaptureOptions {
  /** Where each message is written as .eml and .html (created if missing). */
  dir: string;
  logger?: Logger;
}

export function createCaptureTransport(options: CaptureOptions): Transport {
  const dir = resolve(options.dir);
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  let ready: Promise<unknown> | undefined;

  return {
    name: 'capture',
    async send(email: OutgoingEmail): Promise<SendReceipt> {
      ready ??= mkdir(dir, { recursive: true });
      await ready;
      const info = await composer.sendMail({
        messageId: email.messageId,
        from: email.from,
        to: email.to,
        subject: email.subject,
        html: email.html,
        text: email.text,
        ...(email.replyTo ? { replyTo: email.replyTo } : {}),
        headers: mimeHeaders(email),
      });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const base = join(dir, `${stamp}-${email.outboxId}`);
      // The .html first: once the .eml exists, the capture is complete (tools watch for it).
      await writeFile(`${base}.html`, email.html);
      await writeFile(`${base}.eml`, info.message as Buffer);
      options.logger?.info({ outboxId: email.outboxId, path: `${base}.eml` }, 'captured email');
      return { providerMessageId: email.messageId, responseCode: null, response: `captured ${base}.eml` };
    },
    async close() {},
  };
}
