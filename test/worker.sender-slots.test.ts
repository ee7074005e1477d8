// The slots fetched and handed-over batches share: never more at once than there
// are slots, and a batch waiting for one goes before the relay's next hand-over.
import { expect, it } from 'vitest';
import { SenderSlots } from '../src/worker/sender-slots.ts';

it('runs at most as many batches as slots, first come first served, and offers no idle slot while one is awaited', async () => {
  const slots = new SenderSlots(2);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  const releases: (() => void)[] = [];
  const batch = (n: number) =>
    slots.run(async () => {
      running += 1;
      most = Math.max(most, running);
      order.push(n);
      await new Promise<void>((resolve) => releases.push(resolve));
      running -= 1;
    });
  expect(slots.idle()).toBe(2);
  const all = [batch(1), batch(2), batch(3), batch(4)];
  await Promise.resolve();
  expect(order).toEqual([1, 2]);
  expect(slots.idle()).toBe(0);
  while (releases.length > 0 || running > 0) {
    releases.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(all);
  expect(order).toEqual([1, 2, 3, 4]);
  expect(most).toBe(2);
  expect(slots.idle()).toBe(2);
});

it('frees the slot of a batch that throws', async () => {
  const slots = new SenderSlots(1);
  await expect(slots.run(async () => Promise.reject(new Error('record failed')))).rejects.toThrow('record failed');
  expect(slots.idle()).toBe(1);
});

it('keeps reserved slots from fetched batches until the relay runs its batch in one or gives them back', async () => {
  const slots = new SenderSlots(2);
  expect(slots.reserve(5)).toBe(2);
  expect(slots.idle()).toBe(0);
  let fetchedRan = false;
  const fetched = slots.run(async () => {
    fetchedRan = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  expect(fetchedRan).toBe(false);
  // The relay's batch ends in its reserved slot: the slot passes to the fetched batch.
  await slots.runReserved(async () => {});
  await fetched;
  expect(fetchedRan).toBe(true);
  // The other reservation is still held, until given back.
  expect(slots.idle()).toBe(1);
  slots.unreserve(1);
  expect(slots.idle()).toBe(2);
  expect(slots.reserve(0)).toBe(0);
});
