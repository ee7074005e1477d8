// SMTP over TLS: implicit TLS (smtps://) and STARTTLS, against smtp-server with a
// certificate from a private CA made by the openssl CLI for this run. A trusted CA
// file (SMTP_TLS_CA_FILE) or SMTP_TLS_REJECT_UNAUTHORIZED=false sends; an untrusted
// certificate is a configuration fault that names the settings to fix. Credentials
// in SMTP_URL reach the server's AUTH.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/cli/env.ts';
import { SendError } from '../src/errors.ts';
import { createTransportFromConfig } from '../src/cli/transport-from-env.ts';
import { createSmtpTransport, type SmtpOptions } from '../src/transports/smtp.ts';
import { outgoingEmail } from './support/outgoing-email.ts';

interface TlsServer {
  port: number;
  /** One entry per accepted message: was the session encrypted, and as whom did it log in. */
  sessions: { secure: boolean; user: string | null; to: string }[];
  close(): Promise<void>;
}

let dir: string;
let caFile: string;
let key: Buffer;
let cert: Buffer;

/** A private CA and a server certificate for localhost and 127.0.0.1, valid two days. */
function makeCertificates(into: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: into, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mailroom test CA');
  run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(into, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
}

async function startTlsServer(options: { secure: boolean; starttls: boolean; credentials?: { user: string; pass: string } }): Promise<TlsServer> {
  const sessions: TlsServer['sessions'] = [];
  const server = new SMTPServer({
    secure: options.secure,
    key,
    cert,
    logger: false,
    closeTimeout: 500,
    disabledCommands: options.starttls ? [] : ['STARTTLS'],
    authOptional: !options.credentials,
    onAuth(auth, _session, callback) {
      const ok = options.credentials && auth.username === options.credentials.user && auth.password === options.credentials.pass;
      if (!ok) return callback(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      stream.resume();
      stream.on('end', () => {
        sessions.push({ secure: Boolean(session.secure), user: (session.user as string | undefined) ?? null, to: session.envelope.rcptTo[0]?.address ?? '' });
        callback(null, 'Ok: queued');
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.server.address() as { port: number }).port,
    sessions,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let implicit: TlsServer;
let starttls: TlsServer;
let plain: TlsServer;
let authenticated: TlsServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mailroom-tls-'));
  makeCertificates(dir);
  caFile = join(dir, 'ca.pem');
  key = readFileSync(join(dir, 'server.key'));
  cert = readFileSync(join(dir, 'server.pem'));
  implicit = await startTlsServer({ secure: true, starttls: false });
  starttls = await startTlsServer({ secure: false, starttls: true });
  plain = await startTlsServer({ secure: false, starttls: false });
  authenticated = await startTlsServer({ secure: true, starttls: false, credentials: { user: 'ada', pass: 's3cret:/@x' } });
});

afterAll(async () => {
  await Promise.all([implicit, starttls, plain, authenticated].map((server) => server?.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const email = (to: string) => outgoingEmail(to, ++n, { subject: 'tls' });

/** Send one email through a fresh transport, and close it. */
async function sendWith(options: Partial<SmtpOptions> & { url: string }, to: string) {
  const transport = createSmtpTransport({ maxConnections: 1, timeoutMs: 3000, ...options });
  try {
    return await transport.send(email(to));
  } finally {
    await transport.close();
  }
}

const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e as SendError);

describe('SMTP over implicit TLS (smtps://)', () => {
  it('sends when the certificate is signed by the CA in SMTP_TLS_CA_FILE', async () => {
    const url = `smtps://127.0.0.1:${implicit.port}`;
    await expect(sendWith({ url, tlsRejectUnauthorized: true, tlsCaFile: caFile }, 'ca@example.test')).resolves.toMatchObject({ responseCode: 250 });
    expect(implicit.sessions.find((s) => s.to === 'ca@example.test')).toMatchObject({ secure: true });
  });

  it('refuses an untrusted certificate with a configuration error that names the settings', async () => {
    const url = `smtps://127.0.0.1:${implicit.port}`;
    const error = await errorOf(sendWith({ url, tlsRejectUnauthorized: true }, 'untrusted@example.test'));
    expect(error).toBeInstanceOf(SendError);
    expect(error!.errorClass).toBe('config');
    expect(error!.message).toMatch(/untrusted TLS certificate/);
    expect(error!.message).toMatch(/SMTP_TLS_CA_FILE/);
    expect(implicit.sessions.some((s) => s.to === 'untrusted@example.test')).toBe(false);
  });

  it('sends to an untrusted certificate when told not to check (SMTP_TLS_REJECT_UNAUTHORIZED=false)', async () => {
    const url = `smtps://127.0.0.1:${implicit.port}`;
    await expect(sendWith({ url, tlsRejectUnauthorized: false }, 'unchecked@example.test')).resolves.toMatchObject({ responseCode: 250 });
  });
});

describe('SMTP with STARTTLS', () => {
  it('upgrades the connection and checks the certificate against the CA file', async () => {
    const url = `smtp://127.0.0.1:${starttls.port}`;
    await expect(sendWith({ url, tlsRejectUnauthorized: true, tlsCaFile: caFile, requireTls: true }, 'upgraded@example.test')).resolves.toMatchObject({ responseCode: 250 });
    expect(starttls.sessions.find((s) => s.to === 'upgraded@example.test')).toMatchObject({ secure: true });
    const error = await errorOf(sendWith({ url, tlsRejectUnauthorized: true }, 'upgrade-untrusted@example.test'));
    expect(error!.errorClass).toBe('config');
  });

  it('with SMTP_REQUIRE_TLS, refuses a server that offers no STARTTLS instead of sending in the clear', async () => {
    const url = `smtp://127.0.0.1:${plain.port}`;
    const error = await errorOf(sendWith({ url, requireTls: true }, 'clear@example.test'));
    expect(error!.errorClass).toBe('config');
    expect(plain.sessions).toEqual([]);
    // Without it, the same server gets the message unencrypted.
    await expect(sendWith({ url }, 'clear@example.test')).resolves.toMatchObject({ responseCode: 250 });
    expect(plain.sessions).toEqual([{ secure: false, user: null, to: 'clear@example.test' }]);
  });
});

describe('credentials in SMTP_URL, through the configuration', () => {
  const env = (userinfo: string) => ({
    MAIL_TRANSPORT: 'smtp',
    SMTP_URL: `smtps://${userinfo}@127.0.0.1:${authenticated.port}`,
    SMTP_TLS_CA_FILE: caFile,
    SMTP_TIMEOUT_MS: '3000',
  });

  it('logs in with the user and the (percent-encoded) password of the URL', async () => {
    const transport = createTransportFromConfig(loadConfig(env(`ada:${encodeURIComponent('s3cret:/@x')}`)));
    try {
      await expect(transport.send(email('auth@example.test'))).resolves.toMatchObject({ responseCode: 250 });
    } finally {
      await transport.close();
    }
    expect(authenticated.sessions).toEqual([{ secure: true, user: 'ada', to: 'auth@example.test' }]);
  });

  it('classes refused credentials (535) as a configuration fault', async () => {
    const transport = createTransportFromConfig(loadConfig(env('ada:wrong')));
    try {
      const error = await errorOf(transport.send(email('auth-wrong@example.test')));
      expect(error!.errorClass).toBe('config');
      expect(error!.responseCode).toBe(535);
    } finally {
      await transport.close();
    }
  });

  it('refuses a CA file that does not exist at start-up, naming the variable', () => {
    expect(() => loadConfig({ ...env('ada:x'), SMTP_TLS_CA_FILE: join(dir, 'missing.pem') })).toThrow(/^SMTP_TLS_CA_FILE must be a readable PEM file/);
  });
});
