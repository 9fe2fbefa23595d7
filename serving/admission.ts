// Admission control for stylize requests. A request takes a ticket when it
// arrives, before its body is read; there are concurrency + queue tickets,
// so memory is bounded by that many images however many clients connect,
// and a request beyond them is refused at once (429) instead of waiting
// behind work that would take longer than its client is willing to wait.
// Which admitted requests compute is decided by the inference pool (one per
// thread); decoding and encoding happen outside it, so the thread is not
// idle while a request's codecs run.
export class Admission {
  #admitted = 0;

  constructor(readonly capacity: number) {}

  /** Requests admitted and not yet finished. */
  get admitted(): number {
    return this.#admitted;
  }

  /** A release function (idempotent), or undefined when every ticket is taken. */
  tryEnter(): (() => void) | undefined {
    if (this.#admitted >= this.capacity) return undefined;
    this.#admitted++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#admitted--;
    };
  }
}
