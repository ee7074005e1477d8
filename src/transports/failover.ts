// MAIL_TRANSPORT=mailjet,smtp: send through the first transport whose circuit is
// closed. After FAILOVER_AFTER consecutive failures that are the provider's fault
// (network, timeouts, 5xx, 429, bad credentials), its circuit opens and sending
// moves to the next one; after FAILOVER_PROBE_MS one send probes it again
// (half-open): success closes the circuit, failure opens it for another period.
// A permanent error (this message refused) says nothing about the provider's
// health and does not count. Each process keeps its own circuits.
import type { Logger } from 'pino';
import { SendError } from '../errors.ts';
import type { OutgoingEmail, SendReceipt, Transport } from './transport.ts';

export interface FailoverOptions {
  /** Consecutive provider failures that open a transport's circuit. Default 5. */
  failuresToOpen?: number;
  /** How long an open circuit waits before one probe send. Default 30,000 ms. */
  probeAfterMs?: number;
  logger?: Logger;
  now?: () => number;
}

type CircuitState = 'closed' | 'open' | 'half-open';

interface Circuit {
  transport: Transport;
  state: CircuitState;
  failures: number;
  openedAt: number;
  /** A probe is in flight: other sends keep going elsewhere meanwhile. */
  probing: boolean;
}

const countsAgainstProvider = (error: SendError) => error.errorClass !== 'permanent';

export interface FailoverTransport extends Transport {
  circuits(): { name: string; state: CircuitState; failures: number }[];
}

export function createFailoverTransport(transports: Transport[], options: FailoverOptions = {}): FailoverTransport {
  if (!Array.isArray(transports) || transports.length === 0) throw new RangeError('failoverTransport: give at least one transport');
  const settings = { failuresToOpen: 5, probeAfterMs: 30_000, ...options };
  if (transports.length === 0) throw new Error('failover needs at least one transport');
  const now = options.now ?? Date.now;
  const circuits: Circuit[] = transports.map((transport) => ({ transport, state: 'closed', failures: 0, openedAt: 0, probing: false }));

  /** The circuit to use now, and whether this send is its probe. */
  function choose(): { circuit: Circuit; probe: boolean } {
    for (const circuit of circuits) {
      if (circuit.state === 'closed') return { circuit, probe: false };
      if (!circuit.probing && now() - circuit.openedAt >= settings.probeAfterMs) {
        circuit.state = 'half-open';
        circuit.probing = true;
        return { circuit, probe: true };
      }
    }
    // Every circuit is open: keep trying the last one rather than refusing to send;
    // its failures are recorded as attempts and retried with backoff.
    return { circuit: circuits[circuits.length - 1]!, probe: false };
  }

  function open(circuit: Circuit, reason: string) {
    const wasOpen = circuit.state === 'open';
    circuit.state = 'open';
    circuit.openedAt = now();
    if (!wasOpen) {
      const next = circuits.find((c) => c !== circuit && c.state === 'closed')?.transport.name ?? 'none';
      options.logger?.error(
        { transport: circuit.transport.name, failures: circuit.failures, next },
        `transport ${circuit.transport.name} circuit open after ${circuit.failures} failure(s) (${reason}); sending through ${next}`,
      );
    }
  }

  return {
    name: transports.map((t) => t.name).join(','),
    async send(email: OutgoingEmail): Promise<SendReceipt> {
      const { circuit, probe } = choose();
      try {
        const receipt = await circuit.transport.send(email);
        if (circuit.state !== 'closed') options.logger?.warn({ transport: circuit.transport.name }, `transport ${circuit.transport.name} answered again: circuit closed`);
        circuit.state = 'closed';
        circuit.failures = 0;
        return { ...receipt, transport: receipt.transport ?? circuit.transport.name };
      } catch (error) {
        const sendError = error instanceof SendError ? error : new SendError('transient', error instanceof Error ? error.message : String(error));
        sendError.transport ??= circuit.transport.name;
        if (countsAgainstProvider(sendError)) {
          circuit.failures += 1;
          if (probe || sendError.errorClass === 'config' || circuit.failures >= settings.failuresToOpen) {
            open(circuit, sendError.errorClass);
          }
        } else if (probe) {
          // The provider answered (it refused this message): it is up again.
          circuit.state = 'closed';
          circuit.failures = 0;
        }
        throw sendError;
      } finally {
        if (probe) circuit.probing = false;
      }
    },
    route() {
      // choose() without its side effects: the first closed circuit, else one due for a probe.
      const ready = circuits.find((c) => c.state === 'closed') ?? circuits.find((c) => !c.probing && now() - c.openedAt >= settings.probeAfterMs);
      return (ready ?? circuits[circuits.length - 1]!).transport.name;
    },
    async close() {
      await Promise.all(transports.map((t) => t.close()));
    },
    circuits: () => circuits.map((c) => ({ name: c.transport.name, state: c.state, failures: c.failures })),
  };
}
