// A real SMTP server for tests (smtp-server on 127.0.0.1, a free port). It accepts
// and keeps every message, or answers per recipient as told: a code (421, 451,
// 550...), a list of codes used once each before accepting, or 'hang' (never
// answers the end of DATA). Answers are given after the whole message was read,
// i.e. at the end of DATA, where real servers refuse content.
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface SinkMessage {
  to: string;
  from: string;
  messageId: string;
  subject: string;
  html: string;
  text: string;
  headers: Map<string, unknown>;
  raw: string;
  receivedAt: Date;
}

export type Behaviour = 'accept' | 'hang' | number | number[];

export interface SmtpSink {
  url: string;
  port: number;
  /** Accepted messages, in the order they were accepted. */
  messages: SinkMessage[];
  messagesTo(address: string): SinkMessage[];
  /** How many times a message for this address reached the end of DATA (accepted or not). */
  attemptsFor(address: string): number;
  respond(address: string, behaviour: Behaviour): void;
  /** Wait before answering each message, to make a run slow enough to interrupt. */
  setDelay(ms: number): void;
  /** Refuse at random: each message gets `code` with this probability (seeded, repeatable). */
  setRandomFailures(probability: number, code: number, seed?: number): void;
  waitFor(count: number | ((messages: SinkMessage[]) => boolean), timeoutMs?: number): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

/** mulberry32: a tiny seeded PRNG, so random failures repeat from run to run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REASONS: Record<number, string> = {
  421: '4.3.2 Service shutting down, try again later',
  450: '4.2.1 Mailbox busy',
  451: '4.7.1 Greylisted, try again later',
  452: '4.2.2 Mailbox full',
  550: '5.1.1 No such user here',
  552: '5.3.4 Message too big',
  554: '5.7.1 Rejected as spam',
};

export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  const attempts = new Map<string, number>();
  const behaviours = new Map<string, Behaviour>();
  let delayMs = 0;
  let random: { probability: number; code: number; next: () => number } | undefined;
  let accepted = 0;
  const hung: (() => void)[] = [];

  const decide = (address: string): 'accept' | 'hang' | number => {
    const behaviour = behaviours.get(address);
    if (Array.isArray(behaviour)) {
      const [next, ...rest] = behaviour;
      behaviours.set(address, rest.length > 0 ? rest : 'accept');
      return next ?? 'accept';
    }
    if (behaviour !== undefined && behaviour !== 'accept') return behaviour;
    if (random && random.next() < random.probability) return random.code;
    return 'accept';
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    maxClients: 200,
    size: 10 * 1024 * 1024,
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        for (const address of to) attempts.set(address, (attempts.get(address) ?? 0) + 1);
        const verdict = decide(to[0] ?? '');
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        if (verdict === 'hang') {
          hung.push(() => callback(Object.assign(new Error('shutting down'), { responseCode: 421 })));
          return;
        }
        if (typeof verdict === 'number') {
          const error = Object.assign(new Error(REASONS[verdict] ?? 'refused'), { responseCode: verdict });
          return callback(error);
        }
        const raw = Buffer.concat(chunks);
        const parsed = await simpleParser(raw);
        messages.push({
          to: to[0] ?? '',
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          messageId: parsed.messageId ?? '',
          subject: parsed.subject ?? '',
          html: typeof parsed.html === 'string' ? parsed.html : '',
          text: parsed.text ?? '',
          headers: parsed.headers,
          raw: raw.toString('utf8'),
          receivedAt: new Date(),
        });
        accepted += 1;
        callback(null, `2.0.0 Ok: queued as SINK${accepted}`);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.on('error', () => {});
  const port = (server.server.address() as { port: number }).port;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    messagesTo: (address) => messages.filter((m) => m.to === address.toLowerCase()),
    attemptsFor: (address) => attempts.get(address.toLowerCase()) ?? 0,
    respond: (address, behaviour) => behaviours.set(address.toLowerCase(), behaviour),
    setDelay: (ms) => (delayMs = ms),
    setRandomFailures: (probability, code, seed = 42) => (random = { probability, code, next: seeded(seed) }),
    async waitFor(count, timeoutMs = 20_000) {
      const done = typeof count === 'number' ? () => messages.length >= count : () => count(messages);
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`SMTP sink: timed out with ${messages.length} message(s)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    reset() {
      messages.length = 0;
      attempts.clear();
      behaviours.clear();
      delayMs = 0;
      random = undefined;
    },
    async close() {
      for (const release of hung.splice(0)) release();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
