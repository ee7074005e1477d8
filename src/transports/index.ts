import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { createCaptureTransport } from './capture.ts';
import { createMailjetTransport } from './mailjet.ts';
import { createSmtpTransport } from './smtp.ts';
import type { Transport } from './transport.ts';

export type { OutgoingEmail, SendReceipt, Transport } from './transport.ts';
export { messageIdFor } from './transport.ts';

/** The transport MAIL_TRANSPORT names, configured from the environment (already validated). */
export function createTransportFromConfig(config: Config, logger?: Logger): Transport {
  switch (config.MAIL_TRANSPORT) {
    case 'smtp':
      return createSmtpTransport({
        url: config.SMTP_URL!,
        maxConnections: config.SMTP_MAX_CONNECTIONS,
        timeoutMs: config.SMTP_TIMEOUT_MS,
      });
    case 'mailjet':
      return createMailjetTransport({
        apiKey: config.MAILJET_API_KEY!,
        apiSecret: config.MAILJET_API_SECRET!,
        ...(config.MAILJET_API_URL ? { apiUrl: config.MAILJET_API_URL } : {}),
        timeoutMs: config.MAILJET_TIMEOUT_MS,
        sandbox: config.MAILJET_SANDBOX,
      });
    case 'capture':
      return createCaptureTransport({ dir: config.CAPTURE_DIR, ...(logger ? { logger } : {}) });
  }
}
