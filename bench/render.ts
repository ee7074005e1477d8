// Render time per template (subject + HTML + text, as the worker does it), from
// each template's PreviewProps. Target from issue #3: p95 <= 3 ms on this machine kind.
import { catalogue, templateNames } from '../src/templates/catalogue.ts';
import { renderEmail } from '../src/templates/render.ts';
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
  for (const name of templateNames) {
    const props = catalogue[name].previewProps;
    for (let i = 0; i < 200; i++) await renderEmail(name, props, context); // warm-up: JIT, caches
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
