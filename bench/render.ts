// Render time per template (subject + HTML + text, as the worker does it), from
// each template's PreviewProps. Target from issue #3: p95 <= 3 ms on this machine kind.
import { catalogue, templateNames } from '../test/support/product.ts';
import { renderEmail } from '../test/support/product.ts';
import { round, summarise } from './support/stats.ts';

export interface RenderFigures {
  template: string;
  renders: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

export async function benchRender(options: { iterations: number }): Promise<RenderFigures[]> {
  const context = { baseUrl: 'https://circles.example' };
  const figures: RenderFigures[] = [];
  // Warm up every template first: the shared code (React, the layout, toPlainText)
  // reaches steady state once, instead of being charged to whichever template runs first.
  for (let i = 0; i < 200; i++) for (const name of templateNames) await renderEmail(name, catalogue[name].previewProps, context);
  for (const name of templateNames) {
    const props = catalogue[name].previewProps;
    const samples: number[] = [];
    for (let i = 0; i < options.iterations; i++) {
      const started = performance.now();
      await renderEmail(name, props, context);
      samples.push(performance.now() - started);
    }
    const s = summarise(samples);
    figures.push({ template: name, renders: s.n, p50Ms: round(s.p50), p95Ms: round(s.p95), p99Ms: round(s.p99) });
  }
  return figures;
}
