// A TCP proxy between a process and the test's PostgreSQL that can turn into a
// blackhole: a database that is unreachable without refusing anything. Blackholed,
// it forwards nothing in either direction but keeps every socket open (bytes wait in
// the kernel's buffers, as TCP retransmits them across a network outage), passes on
// no FIN or reset, and accepts new connections without ever answering them. Restored,
// it forwards again: waiting bytes flow, held connections reach the database.
//
// It also reads each connection's startup message, so a test can see the session
// settings (statement_timeout, ...) every pool of a process asks for.
import { createServer, connect as connectTcp, type Server, type Socket } from 'node:net';

export interface StartupMessage {
  /** Startup parameters: user, database, application_name, statement_timeout, ... */
  parameters: Record<string, string>;
}

export interface BlackholeProxy {
  readonly port: number;
  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string;
  /** Stop forwarding; keep every socket open; accept new connections and never answer them. */
  blackhole(): void;
  /** Forward again. */
  restore(): void;
  /** Blackhole only the connections open now; new ones are forwarded (the old path died, a new one works). */
  blackholeOpen(): void;
  /** The startup message of every connection that reached the database through the proxy, in order. */
  readonly startups: StartupMessage[];
  /** Connections accepted so far (answered or not). */
  readonly accepted: number;
  /** Destroy every socket and stop listening. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream?: Socket;
}

export async function startBlackholeProxy(target: { host: string; port: number }, options: { port?: number } = {}): Promise<BlackholeProxy> {
  let holed = false;
  let accepted = 0;
  const pairs = new Set<Pair>();
  /** Blackholed for good (blackholeOpen): never forwarded again, destroyed by close(). */
  const dark = new Set<Pair>();
  const startups: StartupMessage[] = [];

  const forward = (pair: Pair) => {
    const { client } = pair;
    const upstream = connectTcp({ ...target, allowHalfOpen: true });
    pair.upstream = upstream;
    let head: Buffer | null = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      if (head) {
        head = Buffer.concat([head, chunk]);
        const parsed = parseStartup(head);
        if (parsed !== undefined) {
          if (parsed) startups.push(parsed);
          head = null;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('close', destroyBoth);
    upstream.on('close', destroyBoth);
    upstream.on('error', () => {});
    if (holed) upstream.pause();
    else client.resume();
  };

  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    accepted += 1;
    const pair: Pair = { client };
    pairs.add(pair);
    client.on('error', () => {});
    if (!holed) forward(pair);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    port,
    url(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    blackhole() {
      holed = true;
      // Paused sockets read nothing more: no data, and no FIN or reset either (those
      // are read after the data), so neither end hears of the other.
      for (const { client, upstream } of pairs) {
        client.pause();
        upstream?.pause();
      }
    },
    blackholeOpen() {
      for (const pair of pairs) {
        pair.client.pause();
        pair.upstream?.pause();
        pairs.delete(pair);
        dark.add(pair);
      }
    },
    restore() {
      holed = false;
      for (const pair of pairs) {
        if (!pair.upstream) forward(pair);
        else {
          pair.client.resume();
          pair.upstream.resume();
        }
      }
    },
    startups,
    get accepted() {
      return accepted;
    },
    async close() {
      for (const { client, upstream } of [...pairs, ...dark]) {
        client.destroy();
        upstream?.destroy();
      }
      pairs.clear();
      dark.clear();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * The first message of a connection: undefined while incomplete, null when it is not
 * a plain startup message (an SSLRequest, a cancel request), else its parameters.
 */
function parseStartup(buffer: Buffer): StartupMessage | null | undefined {
  if (buffer.length < 8) return undefined;
  const length = buffer.readInt32BE(0);
  if (buffer.length < length) return undefined;
  if (buffer.readInt32BE(4) !== 196_608) return null; // protocol 3.0
  const parts = buffer.subarray(8, length).toString('utf8').split('\0');
  const parameters: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length && parts[i]; i += 2) parameters[parts[i]!] = parts[i + 1]!;
  return { parameters };
}

/** The host and port of a postgres:// URL. */
export function hostAndPort(databaseUrl: string): { host: string; port: number } {
  const url = new URL(databaseUrl);
  return { host: url.hostname || '127.0.0.1', port: Number(url.port || 5432) };
}
