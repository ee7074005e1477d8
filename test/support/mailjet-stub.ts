// A local HTTP server that answers like Mailjet's Send API v3.1 (documented request
// and response shapes). node-mailjet reaches it as an HTTP proxy, so it sees
// `https://api.mailjet.com/v3.1/send` as the request target, with Basic auth.
// Per recipient it can succeed (default), refuse with 400 and per-message Errors,
// answer 401, 429 or 500, or hang.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type MailjetBehaviour = 'success' | 400 | 401 | 429 | 500 | 'hang';

export interface MailjetRequest {
  target: string;
  auth: { user: string; pass: string } | null;
  body: {
    SandboxMode?: boolean;
    Messages: {
      From: { Email: string; Name?: string };
      To: { Email: string }[];
      Subject: string;
      TextPart: string;
      HTMLPart: string;
      CustomID?: string;
      Headers?: Record<string, string>;
    }[];
  };
}

export interface MailjetStub {
  url: string;
  apiKey: string;
  apiSecret: string;
  requests: MailjetRequest[];
  respond(address: string, behaviour: MailjetBehaviour): void;
  close(): Promise<void>;
}

let nextMessageId = 288230376151711744n;

export async function startMailjetStub(credentials = { apiKey: 'stub-key', apiSecret: 'stub-secret' }): Promise<MailjetStub> {
  const requests: MailjetRequest[] = [];
  const behaviours = new Map<string, MailjetBehaviour>();
  const hanging = new Set<ServerResponse>();

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const header = req.headers.authorization ?? '';
    const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString() : null;
    const auth = decoded ? { user: decoded.split(':')[0]!, pass: decoded.split(':').slice(1).join(':') } : null;
    if (req.method !== 'POST' || !/\/v3\.1\/send$/.test(req.url ?? '')) return json(res, 404, { ErrorMessage: 'not found' });
    let body: MailjetRequest['body'];
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return json(res, 400, { ErrorIdentifier: 'stub', StatusCode: 400, ErrorMessage: 'invalid JSON' });
    }
    requests.push({ target: req.url ?? '', auth, body });

    if (!auth || auth.user !== credentials.apiKey || auth.pass !== credentials.apiSecret) {
      return json(res, 401, { ErrorIdentifier: 'stub-401', StatusCode: 401, ErrorMessage: 'API key authentication/authorization failure. You may be unauthorized to access the API or your API key may be expired. Visit API keys management section to check your keys.' });
    }
    const to = body.Messages[0]?.To[0]?.Email?.toLowerCase() ?? '';
    const behaviour = behaviours.get(to) ?? 'success';
    switch (behaviour) {
      case 'hang':
        hanging.add(res);
        return;
      case 401:
        return json(res, 401, { ErrorIdentifier: 'stub-401', StatusCode: 401, ErrorMessage: 'API key authentication/authorization failure.' });
      case 429:
        return json(res, 429, { ErrorIdentifier: 'stub-429', StatusCode: 429, ErrorMessage: 'Too many requests' });
      case 500:
        return json(res, 500, { ErrorIdentifier: 'stub-500', StatusCode: 500, ErrorMessage: 'Internal Server Error' });
      case 400:
        return json(res, 400, {
          Messages: [
            {
              Status: 'error',
              Errors: [
                {
                  ErrorIdentifier: 'f987008f-251a-4dff-8ffc-40f1583ad7bc',
                  ErrorCode: 'mj-0013',
                  StatusCode: 400,
                  ErrorMessage: `"${to}" is an invalid email address.`,
                  ErrorRelatedTo: ['To[0].Email'],
                },
              ],
            },
          ],
        });
      default: {
        const id = (nextMessageId++).toString();
        return json(res, 200, {
          Messages: body.Messages.map((m) => ({
            Status: 'success',
            CustomID: m.CustomID ?? '',
            To: m.To.map((r) => ({
              Email: r.Email,
              MessageUUID: `uuid-${id}`,
              MessageID: id,
              MessageHref: `https://api.mailjet.com/v3/REST/message/${id}`,
            })),
            Cc: [],
            Bcc: [],
          })),
        });
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    ...credentials,
    requests,
    respond: (address, behaviour) => behaviours.set(address.toLowerCase(), behaviour),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
