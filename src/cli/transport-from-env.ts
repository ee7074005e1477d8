// MAIL_TRANSPORT and its variables -> the Transport they name (a failover chain for a list).
import type { Logger } from 'pino';
import { createCaptureTransport } from '../transports/capture.ts';
import { createFailoverTransport } from '../transports/failover.ts';
import { createMailjetTransport } from '../transports/mailjet.ts';
import { createSmtpTransport } from '../transports/smtp.ts';
import type { Transport } from '../transports/transport.ts';
import type { Config, TransportName } from './env.ts';

/** The transport MAIL_TRANSPORT names (a failover chain for a list), configured from the validated environment. */
export function createTransportFromConfig(config: Config, logger?: Logger): Transport {
  const transports = config.MAIL_TRANSPORT.map((name) => createOne(name, config, logger));
  if (transports.length === 1) return transports[0]!;
  return createFailoverTransport(transports, {
    failuresToOpen: config.FAILOVER_AFTER,
    probeAfterMs: config.FAILOVER_PROBE_MS,
    ...(logger ? { logger } : {}),
  });
}

function createOne(name: TransportName, config: Config, logger?: Logger): Transport {
  switch (name) {
    case 'smtp':
      return createSmtpTransport({
        url: config.SMTP_URL!,
        maxConnections: config.SMTP_MAX_CONNECTIONS,
        timeoutMs: config.SMTP_TIMEOUT_MS,
        ...(config.SMTP_TLS_REJECT_UNAUTHORIZED !== undefined ? { tlsRejectUnauthorized: config.SMTP_TLS_REJECT_UNAUTHORIZED } : {}),
        ...(config.SMTP_TLS_CA_FILE ? { tlsCaFile: config.SMTP_TLS_CA_FILE } : {}),
        requireTls: config.SMTP_REQUIRE_TLS,
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
