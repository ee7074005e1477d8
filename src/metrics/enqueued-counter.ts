// Counted by enqueue in whatever process calls it (the application's). A call
// whose transaction later rolls back still counts: the committed truth is
// `select count(*) from mailroom.outbox`, this is the rate the app asks for mail.
// A plain map, not a prom-client metric: the enqueue entry point must not load
// prom-client; metrics.ts exposes these counts in every registry at scrape time.
const counts = new Map<string, number>();

export function countEnqueued(template: string, n = 1): void {
  counts.set(template, (counts.get(template) ?? 0) + n);
}

/** The counts so far, by template. */
export function enqueuedCounts(): ReadonlyMap<string, number> {
  return counts;
}
