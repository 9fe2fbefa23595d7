// Admission control for stylize requests, as budgets a request takes a share
// of or is refused at once (429) — instead of waiting behind work that would
// take longer than its client is willing to wait:
//   - bytes: each request reserves its body's size before reading it, so the
//     bodies being received (however slowly) are bounded in memory;
//   - inference tickets (concurrency + queue, one each): taken only once a
//     request's whole body has arrived, so a client that uploads slowly holds
//     bytes, never a ticket, and cannot starve the requests ready to compute.
// Which admitted requests compute is decided by the inference pool (one per
// thread); decoding and encoding happen outside it, so the thread is not
// idle while a request's codecs run.
export class Admission {
  #taken = 0;

  constructor(readonly capacity: number) {}

  /** The budget in use now (tickets, or bytes). */
  get admitted(): number {
    return this.#taken;
  }

  /** A release function (idempotent), or undefined when `amount` does not fit in what is left. */
  tryEnter(amount = 1): (() => void) | undefined {
    if (this.#taken + amount > this.capacity) return undefined;
    this.#taken += amount;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#taken -= amount;
    };
  }
}
