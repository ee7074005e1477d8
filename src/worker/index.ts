// mailroom/worker: run the relay, the sender and the sweeper from code, and render
// an email exactly as they do. Loads React (through the app's templates) and pg-boss.
export { startWorker, type RunningWorker, type WorkerOptions } from './start-worker.ts';
export { DEFAULT_WORKER_SETTINGS, type WorkerSettings, type WorkerSettingsInput } from './settings.ts';
export type { Worker } from './worker.ts';
export type { RateLimits } from '../ratelimit/permits.ts';
export { renderEmail, type RenderedEmail } from '../templates/render.ts';
export { RenderError, SendError, type ErrorClass } from '../errors.ts';
export { createLogger, type Logger } from '../logger.ts';
