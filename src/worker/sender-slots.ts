// The process's sender slots (WORKER_CONCURRENCY), shared by the batches pg-boss's
// consumers fetch and the batches the relay hands over itself, so the two together
// never send more batches at once than the setting says. First come, first served:
// a fetched batch waiting for a slot goes before the relay's next hand-over.
//
// The relay reserves the slots it claims for before it claims (reserve()): its rows
// are marked `sending` by the claim itself, so they must not then wait behind a
// fetched batch while their lease runs (the sweeper would take them back from under
// a send that has yet to start).
export class SenderSlots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(slots: number) {
    this.#free = slots;
  }

  /** Slots free now with nobody waiting for one: what the relay may hand over. */
  idle(): number {
    return this.#waiting.length > 0 ? 0 : this.#free;
  }

  /** Takes up to `count` idle slots, held until runReserved() or unreserve() gives each back. */
  reserve(count: number): number {
    const taken = Math.max(0, Math.min(count, this.idle()));
    this.#free -= taken;
    return taken;
  }

  /** Runs `work` in a slot taken by reserve(). */
  async runReserved<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      this.#release();
    }
  }

  /** Gives back `count` reserved slots that got no work. */
  unreserve(count: number): void {
    for (let i = 0; i < count; i++) this.#release();
  }

  /** Runs `work` in a slot, waiting for one first when all are taken. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#free > 0 && this.#waiting.length === 0) this.#free -= 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      this.#release();
    }
  }

  #release(): void {
    const next = this.#waiting.shift();
    // The slot passes straight to the next in line, or becomes free.
    if (next) next();
    else this.#free += 1;
  }
}
