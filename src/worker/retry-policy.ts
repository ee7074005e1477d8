// When to try again after a transient failure: exponential, with +-20% jitter so a
// burst of failures does not come back as a burst. The jitter is narrow on purpose:
// each delay stays longer than the one before it, which operators reading the
// attempt history expect.
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
}

export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const exponential = policy.baseMs * 2 ** Math.max(0, attempt - 1);
  const jittered = exponential * (0.8 + 0.4 * random());
  return Math.round(Math.min(policy.maxMs, jittered));
}
