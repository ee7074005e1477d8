// What every bench worker's environment needs besides its own knobs: the product's
// digests carry unsubscribe links, so the worker must be told where they point.
export const BENCH_WORKER_ENV = {
  UNSUBSCRIBE_BASE_URL: 'http://localhost:3999',
  UNSUBSCRIBE_SECRET: 'bench-unsubscribe-secret-0123456789abcdef',
} as const;
