// An SMTP server that accepts everything and only counts: the bench measures the
// sender, not a parser on the receiving side. Both the baseline and mailroom send here.
import { SMTPServer } from 'smtp-server';

export interface CountSink {
  url: string;
  received: () => number;
  messageIds: Map<string, number>;
  waitFor(count: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** `trackIds: false` for long runs: the Message-ID map grows with every email (the drain bench's parent ran out of heap at 4 GB with it). */
export async function startCountSink(options: { trackIds?: boolean } = {}): Promise<CountSink> {
  const trackIds = options.trackIds ?? true;
  let received = 0;
  const messageIds = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    maxClients: 100,
    onData(stream, _session, callback) {
      let head = '';
      stream.on('data', (chunk: Buffer) => {
        if (trackIds && head.length < 4096) head += chunk.toString('latin1');
      });
      stream.on('end', () => {
        received += 1;
        const id = /^Message-ID:\s*(\S+)/im.exec(head)?.[1];
        if (id && trackIds) messageIds.set(id, (messageIds.get(id) ?? 0) + 1);
        callback(null, `Ok: queued as ${received}`);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received: () => received,
    messageIds,
    async waitFor(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (received < count) {
        if (Date.now() > deadline) throw new Error(`sink received ${received} of ${count}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
