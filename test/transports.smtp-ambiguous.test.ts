// A connection lost after the message data went out may mean the server kept the
// message: that try is `ambiguous`, not `transient`, and the retry carries the same
// Message-ID, so a duplicate at the recipient is recognisable. A connection lost
// before DATA (at RCPT TO) cannot have delivered anything: plain `transient`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { SendError } from '../src/errors.ts';
import { enqueueEmail } from './support/mailroom.ts';
import { createSmtpTransport } from '../src/transports/smtp.ts';
import { outgoingEmail } from './support/outgoing-email.ts';
import { useScenario } from './support/scenario.ts';
import { startInProcessWorker, waitUntil } from './support/worker.ts';

/** Where the server cuts the connection for a recipient, used once each in order. */
type Drop = 'at-rcpt' | 'after-data' | 'hang-after-data';

interface DroppingServer {
  url: string;
  /** Message-IDs of every message whose whole body the server read, dropped or accepted. */
  received: { to: string; messageId: string; accepted: boolean }[];
  drop(address: string, ...drops: Drop[]): void;
  close(): Promise<void>;
}

/** An smtp-server that cuts connections at chosen stages (the shared sink only refuses politely). */
async function startDroppingServer(): Promise<DroppingServer> {
  const received: DroppingServer['received'] = [];
  const plans = new Map<string, Drop[]>();
  const hung: (() => void)[] = [];
  const next = (address: string, stage: 'rcpt' | 'data'): Drop | undefined => {
    const plan = plans.get(address.toLowerCase());
    const drop = plan?.[0];
    if (!drop || (stage === 'rcpt') !== (drop === 'at-rcpt')) return undefined;
    plan.shift();
    return drop;
  };
  const destroy = (session: SMTPServerSession) => {
    for (const connection of (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections) {
      if (connection.id === session.id) connection._socket.destroy();
    }
  };
  const server: SMTPServer = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    closeTimeout: 500,
    onRcptTo(address, session, callback) {
      if (next(address.address, 'rcpt') === 'at-rcpt') return destroy(session);
      callback();
    },
    onData(stream: SMTPServerDataStream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const to = session.envelope.rcptTo[0]?.address.toLowerCase() ?? '';
        const messageId = /^message-id:\s*(<[^>]+>)/im.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '';
        const drop = next(to, 'data');
        received.push({ to, messageId, accepted: drop === undefined });
        if (drop === 'after-data') return destroy(session);
        if (drop === 'hang-after-data') return void hung.push(() => callback(new Error('closing')));
        callback(null, 'Ok: queued');
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    drop: (address, ...drops) => plans.set(address.toLowerCase(), drops),
    close: async () => {
      for (const release of hung) release();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const s = useScenario();
let server: DroppingServer;
beforeAll(async () => {
  server = await startDroppingServer();
});
afterAll(async () => {
  await server?.close();
});

const email = outgoingEmail;

const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as SendError);

describe('SMTP transport: where the connection was lost decides the class', () => {
  it('classes a connection closed after the data as ambiguous, and one closed at RCPT TO as transient', async () => {
    const transport = createSmtpTransport({ url: server.url, maxConnections: 1, timeoutMs: 3000 });
    try {
      server.drop('after@example.test', 'after-data');
      const after = await errorOf(transport.send(email('after@example.test', 1)));
      expect(after).toBeInstanceOf(SendError);
      expect(after!.errorClass).toBe('ambiguous');
      expect(after!.message).toMatch(/may have been delivered/);
      expect(server.received.filter((r) => r.to === 'after@example.test')).toHaveLength(1); // the server did read it all

      server.drop('rcpt@example.test', 'at-rcpt');
      const atRcpt = await errorOf(transport.send(email('rcpt@example.test', 2)));
      expect(atRcpt!.errorClass).toBe('transient');
      expect(server.received.filter((r) => r.to === 'rcpt@example.test')).toHaveLength(0);

      // The pool recovers: the next message on a new connection goes through.
      await expect(transport.send(email('fine@example.test', 3))).resolves.toMatchObject({ responseCode: 250 });
    } finally {
      await transport.close();
    }
  });

  it('classes a reply that never comes after the data (socket timeout) as ambiguous', async () => {
    const transport = createSmtpTransport({ url: server.url, maxConnections: 1, timeoutMs: 600 });
    try {
      server.drop('silent@example.test', 'hang-after-data');
      const error = await errorOf(transport.send(email('silent@example.test', 4)));
      expect(error!.errorClass).toBe('ambiguous');
      expect(error!.message).toMatch(/ETIMEDOUT/);
    } finally {
      await transport.close();
    }
  });
});

describe('a worker meeting a connection lost after the data', () => {
  it('records the try as ambiguous, retries it, and both deliveries carry the same Message-ID', async () => {
    server.drop('twice@example.test', 'after-data');
    server.drop('once@example.test', 'at-rcpt');
    const worker = await startInProcessWorker(s.env({ SMTP_URL: server.url, RETRY_BASE_MS: '100', MESSAGE_ID_DOMAIN: 'mail.circles.example' }));
    try {
      const twice = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'twice@example.test', props: { token: 'token-0123456789abcdef' } });
      const once = await enqueueEmail(s.pool, { template: 'account-confirm', to: 'once@example.test', props: { token: 'token-0123456789abcdef' } });
      const status = (id: string) => async () => (await s.pool.query('select status from mailroom.outbox where id = $1', [id])).rows[0].status as string;
      await waitUntil(status(twice), (st) => st === 'sent', 20_000, 'the ambiguous email sent on retry');
      await waitUntil(status(once), (st) => st === 'sent', 20_000, 'the transient email sent on retry');

      const attempts = async (id: string) =>
        (await s.pool.query('select attempt, outcome, error_class, message_id from mailroom.delivery_attempt where outbox_id = $1 order by attempt', [id])).rows;
      const messageId = `<${twice}@mail.circles.example>`;
      expect(await attempts(twice)).toEqual([
        { attempt: 1, outcome: 'retry', error_class: 'ambiguous', message_id: messageId },
        { attempt: 2, outcome: 'sent', error_class: null, message_id: messageId },
      ]);
      expect((await attempts(once)).map((a) => a.error_class)).toEqual(['transient', null]);

      // The server read the message twice (once dropped, once accepted), under one Message-ID.
      const deliveries = server.received.filter((r) => r.to === 'twice@example.test');
      expect(deliveries).toEqual([
        { to: 'twice@example.test', messageId, accepted: false },
        { to: 'twice@example.test', messageId, accepted: true },
      ]);
      expect(server.received.filter((r) => r.to === 'once@example.test')).toEqual([{ to: 'once@example.test', messageId: `<${once}@mail.circles.example>`, accepted: true }]);
    } finally {
      await worker.stop();
    }
  });
});
