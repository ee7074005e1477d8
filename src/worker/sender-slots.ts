// The process's sender slots (WORKER_CONCURRENCY), shared by the batches pg-boss's
// consumers fetch and the batches the relay hands over itself, so the two together
// never send more batches at once than the setting says. First come, first served:
// a fetched batch waiting for a slot goes before the relay's next hand-over.
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

  /** Runs `work` in a slot, waiting for one first when all are taken. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#free > 0 && this.#waiting.length === 0) this.#free -= 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next in line, or becomes free.
      if (next) next();
      else this.#free += 1;
    }
  }
}
