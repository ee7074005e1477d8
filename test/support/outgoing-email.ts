// A ready-rendered email for tests that call a transport directly: the n-th one
// has a fixed outbox id and the Message-ID the worker would derive from it.
import type { OutgoingEmail } from '../../src/transports/transport.ts';

export function outgoingEmail(to: string, n: number, overrides: Partial<OutgoingEmail> = {}): OutgoingEmail {
  const outboxId = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return {
    outboxId,
    messageId: `<${outboxId}@mailroom.test>`,
    from: 'no-reply@circles.example',
    to,
    subject: `message ${n}`,
    html: '<p>hi</p>',
    text: 'hi',
    ...overrides,
  };
}
