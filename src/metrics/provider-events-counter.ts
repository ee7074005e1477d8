// Provider events (Mailjet's sent, bounce, open...) newly stored by the webhook in
// this process, by the template of their row and the event's type. A replayed
// event is not stored again, so it is not counted again. A plain map, as
// ./enqueued-counter.ts is: the webhook route counts without holding a registry,
// and metrics.ts exposes these counts in every registry of the process at scrape
// (mailroom_provider_events_total).

/** The template label of an event that matched no outbox row (a template name has no parentheses). */
export const UNMATCHED_TEMPLATE = '(unmatched)';

const counts = new Map<string, { template: string; type: string; n: number }>();

export function countProviderEvent(template: string | null, type: string, n = 1): void {
  const label = template ?? UNMATCHED_TEMPLATE;
  const key = JSON.stringify([label, type]);
  const entry = counts.get(key);
  if (entry) entry.n += n;
  else counts.set(key, { template: label, type, n });
}

/** The counts so far, by template and type. */
export function providerEventCounts(): Iterable<{ template: string; type: string; n: number }> {
  return counts.values();
}
