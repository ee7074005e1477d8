// Entry of one render thread (src/templates/render-pool.ts). A loader registered
// through tsx's API (bin/mailroom.js does that) is not passed on to worker threads,
// so the thread registers its own, with the project's tsconfig (JSX settings) named
// explicitly so that the directory the process started in does not matter.
import { fileURLToPath } from 'node:url';
import { workerData } from 'node:worker_threads';

const { register } = await import('tsx/esm/api');
register({ tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) });
// workerData.handler lets a test run its own handler around the real one.
await import(workerData?.handler ?? './render-thread-handler.ts');
