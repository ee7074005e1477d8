// Rendering on worker threads (issue #7): the sender's own thread also speaks SMTP
// and PostgreSQL, and a render costs it about 1 ms of CPU per email. A pool of
// RENDER_THREADS threads, each running the same renderEmail(), takes that work
// elsewhere; with 0 threads renderEmail() runs inline, as before.
//
// - Output: the thread answers with the very object renderEmail() returned there.
// - Errors: a render that fails in a thread is a RenderError here too (permanent).
// - A thread that dies (a crash, running out of memory) is replaced, and the emails
//   it was rendering are rendered again on another thread; an email that was on
//   two threads that died fails with a transient SendError, so the row is retried
//   later instead of taking down thread after thread. If new threads keep dying
//   before they could load the templates, the pool renders inline from then on.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { RenderContext } from '../../emails/components/render-context.ts';
import { RenderError, SendError } from '../errors.ts';
import { renderEmail, type RenderedEmail } from './render.ts';

export interface RenderRequest {
  id: number;
  template: string;
  props: unknown;
  context: RenderContext;
}

export type RenderReply = { ready: true } | { id: number; email: RenderedEmail } | { id: number; error: string };

export interface RenderPool {
  render(template: string, props: unknown, context?: RenderContext): Promise<RenderedEmail>;
  /** Threads alive now (0 when rendering inline). */
  threads(): number;
  /** Terminate the threads. Renders still waiting fail with a transient SendError. */
  close(): Promise<void>;
}

export interface RenderPoolOptions {
  /** 0: render inline on the caller's thread. */
  threads: number;
  logger?: Pick<Logger, 'warn' | 'error'>;
  /** Module a thread imports instead of ./render-thread-handler.ts (tests wrap the real one). */
  handler?: string;
}

interface Task extends RenderRequest {
  resolve(email: RenderedEmail): void;
  reject(error: Error): void;
  /** Already moved once from a thread that died. */
  moved: boolean;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  tasks: Map<number, Task>;
}

const ENTRY = new URL('./render-thread.js', import.meta.url);
/** Threads that die before loading the templates, in a row, before the pool gives up on threads. */
const MAX_STARTUP_FAILURES = 3;

export function createRenderPool(options: RenderPoolOptions): RenderPool {
  if (options.threads <= 0) return { render: renderEmail, threads: () => 0, close: async () => {} };

  const threads = new Set<Thread>();
  let nextId = 0;
  let closing = false;
  let startupFailures = 0;

  function spawn(): void {
    const worker = new Worker(ENTRY, options.handler ? { workerData: { handler: options.handler } } : {});
    // Threads never keep the process alive by themselves; close() ends them.
    worker.unref();
    const thread: Thread = { worker, ready: false, tasks: new Map() };
    threads.add(thread);
    worker.on('message', (reply: RenderReply) => {
      if ('ready' in reply) {
        thread.ready = true;
        startupFailures = 0;
        return;
      }
      const task = thread.tasks.get(reply.id);
      if (!task) return;
      thread.tasks.delete(reply.id);
      if ('email' in reply) task.resolve(reply.email);
      else task.reject(renderErrorFrom(task.template, reply.error));
    });
    worker.on('error', (error) => options.logger?.error({ err: error }, 'render thread failed'));
    worker.on('exit', (code) => {
      threads.delete(thread);
      if (closing) {
        for (const task of thread.tasks.values()) task.reject(new SendError('transient', 'render pool closed before the email was rendered'));
        return;
      }
      if (!thread.ready) startupFailures += 1;
      options.logger?.warn({ exitCode: code, rendering: thread.tasks.size }, 'render thread exited; its emails are rendered again');
      if (startupFailures < MAX_STARTUP_FAILURES) spawn();
      else if (threads.size === 0) options.logger?.error({ startupFailures }, 'render threads keep dying at start-up; rendering inline from now on');
      for (const task of thread.tasks.values()) {
        if (!task.moved) {
          task.moved = true;
          dispatch(task);
        } else {
          task.reject(new SendError('transient', `render thread exited (code ${code}) while rendering this email, a second time`));
        }
      }
    });
  }

  function dispatch(task: Task): void {
    let target: Thread | undefined;
    for (const thread of threads) if (!target || thread.tasks.size < target.tasks.size) target = thread;
    if (!target) {
      renderEmail(task.template, task.props, task.context).then(task.resolve, task.reject);
      return;
    }
    const request: RenderRequest = { id: task.id, template: task.template, props: task.props, context: task.context };
    try {
      target.worker.postMessage(request);
    } catch {
      // Props that cannot be copied to a thread (not from a row, which is JSON): inline.
      renderEmail(task.template, task.props, task.context).then(task.resolve, task.reject);
      return;
    }
    target.tasks.set(task.id, task);
  }

  for (let i = 0; i < options.threads; i++) spawn();

  return {
    render(template, props, context = {}) {
      if (closing) return renderEmail(template, props, context);
      return new Promise((resolve, reject) => dispatch({ id: nextId++, template, props, context, resolve, reject, moved: false }));
    },
    threads: () => threads.size,
    async close() {
      closing = true;
      await Promise.all([...threads].map((thread) => thread.worker.terminate()));
    },
  };
}

/** The thread's RenderError, rebuilt with the same message (its cause travels as text). */
function renderErrorFrom(template: string, message: string): RenderError {
  const prefix = `template ${template} failed to render: `;
  return new RenderError(template, new Error(message.startsWith(prefix) ? message.slice(prefix.length) : message));
}
