// GET /metrics in Prometheus's text format. Like the probes, it is for the
// scraper on the private network, not for the public: put it behind your ingress
// rules (docs/operations.md).
import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../metrics/metrics.ts';

export const metricsRoute: FastifyPluginAsync<{ metrics: Metrics }> = async (app, { metrics }) => {
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
};
