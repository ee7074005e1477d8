export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function summarise(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

export const round = (value: number, digits = 3) => Number(value.toFixed(digits));

export interface VariantFigures {
  n: number;
  perSecond: number;
  p50: number;
  p95: number;
}

/**
 * Run two variants in alternating rounds (without/with, then with/without, ...), so
 * machine noise hits both alike; each run returns its latencies in ms.
 */
export async function alternatingRounds(
  rounds: number,
  run: (variant: 'without' | 'with') => Promise<number[]>,
): Promise<Record<'without' | 'with', VariantFigures>> {
  const samples = { without: [] as number[], with: [] as number[] };
  const elapsed = { without: 0, with: 0 };
  for (let r = 0; r < rounds; r++) {
    for (const variant of r % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
      const started = performance.now();
      samples[variant].push(...(await run(variant)));
      elapsed[variant] += (performance.now() - started) / 1000;
    }
  }
  const figures = (variant: 'without' | 'with') => {
    const s = summarise(samples[variant]);
    return { n: s.n, perSecond: round(s.n / elapsed[variant], 1), p50: round(s.p50), p95: round(s.p95) };
  };
  return { without: figures('without'), with: figures('with') };
}
