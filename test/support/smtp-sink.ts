// A real SMTP server for tests: smtp-server on 127.0.0.1, a free port, plain text
// (STARTTLS disabled), any or no AUTH. By default it accepts and keeps every
// message (raw, and parsed by mailparser), answering like Postfix:
// `250 2.0.0 Ok: queued as <id>`.
//
// It can be told how to answer, per recipient address:
//   sink.respond('a@x.test', [451, 451])  the next two deliveries get 451, then it accepts again
//   sink.respond('b@x.test', 550)         always 550, until told otherwise
//   sink.respond('c@x.test', 421)         421 and the server closes the connection
//   sink.respond('d@x.test', 'hang')      never answers the end of DATA (for timeout tests)
//   sink.respond('b@x.test', 'accept')    back to normal
// and globally: setDelay(ms) before every answer (to slow a run down enough to
// interrupt it), setRandomFailures(probability, code, seed) and
// setRandomHangs(probability, seed) with seeded PRNGs, so a "random" run repeats
// exactly.
//
// For runs of thousands of messages, startSmtpSink({ keepBodies: false }) skips
// mailparser and keeps only the envelope, the Message-ID, the subject and the raw
// header block (html, text and the parsed headers stay empty; `parsed` is absent).
//
// WHERE it refuses: always at the end of DATA, after reading the whole message
// (never at RCPT TO). So a refusal is for the whole message, the client has sent
// everything (like a content filter or a greylisting server answering late), and
// every refused attempt is counted by attemptsFor(). With several recipients in
// one envelope the first recipient with a non-accepting behaviour decides.
import { randomBytes } from 'node:crypto';
import { simpleParser, type HeaderValue, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

export interface SinkMessage {
  /** The first envelope recipient (RCPT TO), lower-cased. */
  to: string;
  /** All envelope recipients, lower-cased. */
  recipients: string[];
  /** The envelope sender (MAIL FROM). */
  from: string;
  /** The Message-ID header, with its angle brackets, e.g. `<id@host>`. */
  messageId: string;
  subject: string;
  html: string;
  text: string;
  /** Parsed headers, lower-case names (mailparser's Map). */
  headers: Map<string, HeaderValue>;
  /** The message as received (headers and body), CRLF line ends. */
  raw: string;
  /** The full mailparser result, for anything else (attachments, address objects...). */
  parsed: ParsedMail;
  /** The queue id we answered with (`250 2.0.0 Ok: queued as <queueId>`). */
  queueId: string;
  receivedAt: Date;
}

/** How to answer a delivery: accept, never answer, an SMTP code, or codes used once each in order. */
export type Behaviour = 'accept' | 'hang' | number | number[];

export interface SmtpSink {
  /** `smtp://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Accepted messages, in the order they were accepted. */
  messages: SinkMessage[];
  /** Accepted messages with this envelope recipient (case-insensitive). */
  messagesTo(address: string): SinkMessage[];
  /** How many times a message for this address reached the end of DATA (accepted, refused or hung). */
  attemptsFor(address: string): number;
  /** Set how deliveries to `address` are answered (replaces what was set before). */
  respond(address: string, behaviour: Behaviour): void;
  /** Wait this long before answering each message (0: answer at once). */
  setDelay(ms: number): void;
  /** Refuse each message with `code` at this probability; seeded, so repeatable. Probability 0 turns it off. */
  setRandomFailures(probability: number, code: number, seed?: number): void;
  /** Never answer the end of DATA (as 'hang') at this probability, for messages not refused otherwise; seeded. */
  setRandomHangs(probability: number, seed?: number): void;
  /** Resolve when `messages.length >= count`, or the predicate holds; reject after timeoutMs. */
  waitFor(countOrPredicate: number | ((messages: SinkMessage[]) => boolean), timeoutMs?: number): Promise<void>;
  /** Forget messages, attempts, behaviours, delay and random failures. Hung deliveries stay hung. */
  reset(): void;
  /** Answer hung deliveries with 421, close every connection and stop listening. */
  close(): Promise<void>;
}

/** mulberry32: a tiny seeded PRNG, so random failures repeat from run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Realistic reply texts (enhanced status code first), as real servers send them. */
const REPLIES: Record<number, string> = {
  421: '4.3.2 Service shutting down, closing transmission channel',
  450: '4.2.1 Mailbox busy, try again later',
  451: '4.7.1 Greylisted, please try again later',
  452: '4.2.2 Mailbox full',
  550: '5.1.1 <{rcpt}>: Recipient address rejected: User unknown',
  552: '5.3.4 Message size exceeds fixed limit',
  553: '5.1.3 Bad recipient address syntax',
  554: '5.7.1 Message rejected as spam',
};

function refusal(code: number, recipient: string): Error {
  const text = (REPLIES[code] ?? `${code >= 500 ? '5' : '4'}.0.0 Refused by the test sink`).replace('{rcpt}', recipient);
  return Object.assign(new Error(text), { responseCode: code });
}

function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

export interface SinkOptions {
  /** Parse and keep each message's bodies (default true); false keeps the envelope and headers only. */
  keepBodies?: boolean;
}

/** The raw header block and one unfolded header from it, without parsing the message. */
function headerBlock(raw: Buffer): string {
  const text = raw.subarray(0, 64 * 1024).toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  return end === -1 ? text : text.slice(0, end + 2);
}
function rawHeader(headers: string, name: string): string {
  const match = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r\\n[ \\t].*)*)`, 'im').exec(headers);
  return match ? match[1]!.replace(/\r\n[ \t]+/g, ' ').trim() : '';
}

export async function startSmtpSink(options: SinkOptions = {}): Promise<SmtpSink> {
  const keepBodies = options.keepBodies ?? true;
  const messages: SinkMessage[] = [];
  const attempts = new Map<string, number>();
  const behaviours = new Map<string, Behaviour>();
  let delayMs = 0;
  let random: { probability: number; code: number; next: () => number } | undefined;
  let randomHang: { probability: number; next: () => number } | undefined;
  const hung = new Set<() => void>();

  /** The answer for one recipient; consumes one code of a list. */
  const behaviourFor = (address: string): 'accept' | 'hang' | number => {
    const behaviour = behaviours.get(address);
    if (Array.isArray(behaviour)) {
      const [next, ...rest] = behaviour;
      if (rest.length > 0) behaviours.set(address, rest);
      else behaviours.delete(address);
      return next ?? 'accept';
    }
    return behaviour ?? 'accept';
  };

  const decide = (recipients: string[]): 'accept' | 'hang' | number => {
    let verdict: 'accept' | 'hang' | number = 'accept';
    for (const address of recipients) {
      const own = behaviourFor(address);
      if (verdict === 'accept') verdict = own;
    }
    if (verdict === 'accept' && random && random.next() < random.probability) verdict = random.code;
    if (verdict === 'accept' && randomHang && randomHang.next() < randomHang.probability) verdict = 'hang';
    return verdict;
  };

  const handle = async (stream: SMTPServerDataStream, session: SMTPServerSession): Promise<{ queueId: string } | Error | 'hang'> => {
    const raw = await readAll(stream); // always read to the end before answering
    const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
    for (const address of recipients) attempts.set(address, (attempts.get(address) ?? 0) + 1);
    const verdict = decide(recipients);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (verdict === 'hang') return 'hang';
    if (typeof verdict === 'number') return refusal(verdict, recipients[0] ?? '');
    const queueId = randomBytes(5).toString('hex').toUpperCase();
    if (!keepBodies) {
      const headers = headerBlock(raw);
      messages.push({
        to: recipients[0] ?? '',
        recipients,
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        messageId: rawHeader(headers, 'Message-ID'),
        subject: rawHeader(headers, 'Subject'),
        html: '',
        text: '',
        headers: new Map(),
        raw: headers,
        parsed: undefined as unknown as ParsedMail,
        queueId,
        receivedAt: new Date(),
      });
      return { queueId };
    }
    const parsed = await simpleParser(raw);
    messages.push({
      to: recipients[0] ?? '',
      recipients,
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      messageId: parsed.messageId ?? '',
      subject: parsed.subject ?? '',
      html: typeof parsed.html === 'string' ? parsed.html : '',
      text: parsed.text ?? '',
      headers: parsed.headers,
      raw: raw.toString('utf8'),
      parsed,
      queueId,
      receivedAt: new Date(),
    });
    return { queueId };
  };

  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true, // an SMTP_URL with credentials works too
    disabledCommands: ['STARTTLS'],
    logger: false,
    maxClients: 500,
    size: 25 * 1024 * 1024,
    closeTimeout: 1000, // close(): drop lingering (pooled) client connections after 1 s, not 30 s
    onAuth: (_auth, _session, callback) => callback(null, { user: 'test' }),
    onData(stream, session, callback) {
      handle(stream, session).then(
        (outcome) => {
          if (outcome === 'hang') hung.add(() => callback(refusal(421, '')));
          else if (outcome instanceof Error) callback(outcome);
          else callback(null, `2.0.0 Ok: queued as ${outcome.queueId}`);
        },
        (error: Error) => callback(Object.assign(new Error(`4.3.0 Test sink error: ${error.message}`), { responseCode: 451 })),
      );
    },
  });
  server.on('error', () => {}); // a client resetting its socket is not our test's failure
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    messagesTo: (address) => {
      const wanted = address.toLowerCase();
      return messages.filter((m) => m.recipients.includes(wanted));
    },
    attemptsFor: (address) => attempts.get(address.toLowerCase()) ?? 0,
    respond: (address, behaviour) => {
      const key = address.toLowerCase();
      if (behaviour === 'accept' || (Array.isArray(behaviour) && behaviour.length === 0)) behaviours.delete(key);
      else behaviours.set(key, Array.isArray(behaviour) ? [...behaviour] : behaviour);
    },
    setDelay: (ms) => {
      delayMs = Math.max(0, ms);
    },
    setRandomFailures: (probability, code, seed = 42) => {
      random = probability > 0 ? { probability, code, next: seededRandom(seed) } : undefined;
    },
    setRandomHangs: (probability, seed = 43) => {
      randomHang = probability > 0 ? { probability, next: seededRandom(seed) } : undefined;
    },
    async waitFor(countOrPredicate, timeoutMs = 20_000) {
      const done = typeof countOrPredicate === 'number' ? () => messages.length >= countOrPredicate : () => countOrPredicate(messages);
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        if (Date.now() > deadline) {
          const wanted = typeof countOrPredicate === 'number' ? `${countOrPredicate} message(s)` : 'the condition';
          throw new Error(`SMTP sink: waited ${timeoutMs} ms for ${wanted}; it has accepted ${messages.length}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    reset() {
      messages.length = 0;
      attempts.clear();
      behaviours.clear();
      delayMs = 0;
      random = undefined;
      randomHang = undefined;
    },
    async close() {
      for (const release of hung) release();
      hung.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
