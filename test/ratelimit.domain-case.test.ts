// A recipient domain's rate limit holds whatever the case of the address or of the
// configured domain: both go through the rule the suppression list compares by
// (normalizeAddress, src/suppression/address.ts), so one bucket per domain.
import { describe, expect, it } from 'vitest';
import { takeSendPermits } from '../src/ratelimit/permits.ts';
import type { Transport } from '../src/transports/transport.ts';
import { useScenario } from './support/scenario.ts';

const s = useScenario();
const transport = { name: 'smtp', send: async () => ({ providerMessageId: null, responseCode: null, response: null }), close: async () => {} } satisfies Transport;
const row = (n: number, recipient: string) => ({
  id: `00000000-0000-4000-8000-00000000000${n}`,
  job_id: `00000000-0000-4000-9000-00000000000${n}`,
  recipient,
});

describe('a domain limit', () => {
  it('counts every case of the domain in one bucket, also when typed options name it in capitals', async () => {
    // One permit a second: of three emails to the domain, one goes now.
    const limits = { transports: {}, domains: { 'Limited.EXAMPLE': 1 }, recoveryMs: 30_000, pauseMs: 60_000 };
    const rows = [row(1, 'a@LIMITED.example'), row(2, 'Élodie@limited.example'), row(3, 'c@Limited.Example'), row(4, 'd@free.example')];
    const permitted = await takeSendPermits({ pool: s.pool, limits, transport }, rows);
    expect(permitted.map((r) => r.recipient)).toEqual(['a@LIMITED.example', 'd@free.example']);
    const { rows: buckets } = await s.pool.query(`select key, last_demand, last_granted from mailroom.rate_limit where key like 'domain:%'`);
    expect(buckets).toEqual([{ key: 'domain:limited.example', last_demand: 3, last_granted: 1 }]);
  });
});
