// UUIDv7 (RFC 9562) in TypeScript, for the ids enqueueMany() gives its rows before
// its one INSERT: the same layout as mailroom.uuid_v7() in SQL (migration 0018),
// the Unix time in milliseconds, then version 7, the variant and 74 random bits, so
// a fan-out's rows land on the rightmost pages of the id's index like any other.
import { randomFillSync } from 'node:crypto';

export function uuidV7(now = Date.now()): string {
  const bytes = randomFillSync(new Uint8Array(16));
  let ms = now;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
