// Inside a render thread: render what the pool sends, answer with the email or the
// RenderError's message. The same renderEmail() as inline rendering, so the same output.
import { parentPort } from 'node:worker_threads';
import { renderEmail } from './render.ts';
import type { RenderReply, RenderRequest } from './render-pool.ts';

const port = parentPort!;
port.on('message', async (request: RenderRequest) => {
  let reply: RenderReply;
  try {
    reply = { id: request.id, email: await renderEmail(request.template, request.props, request.context) };
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true } satisfies RenderReply);
