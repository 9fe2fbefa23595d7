// A work queue with client-go's guarantees: a key is never processed by two
// workers at once, a key added while it is being processed is processed again
// afterwards, and failures are retried with per-key exponential backoff.
import { backoffDelay } from "./backoff.js";
import { realClock, type Clock, type TimerHandle } from "./clock.js";

export interface WorkQueueMetrics {
  depth(n: number): void;
  added(): void;
  retried(): void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Keys waiting for a delay: when each is due, and its timer. */
  private readonly waiting = new Map<string, { at: number; timer: TimerHandle }>();
  private waiters: (() => void)[] = [];
  private shuttingDown = false;

  constructor(
    private readonly metrics?: WorkQueueMetrics,
    private readonly baseDelayMs = 500,
    private readonly maxDelayMs = 300_000,
    private readonly clock: Clock = realClock,
  ) {}

  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    this.metrics?.added();
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.metrics?.depth(this.queue.length);
    this.waiters.shift()?.();
  }

  /**
   * Add after a delay. A key already waiting keeps the earliest of the two
   * times (client-go's delaying queue): a requeue asked for in 5 s must not
   * be pushed back by an earlier request for 5 min, nor the other way round.
   */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.cancelWait(key);
      return this.add(key);
    }
    const at = this.clock.now() + ms;
    const pending = this.waiting.get(key);
    if (pending && pending.at <= at) return;
    this.cancelWait(key);
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  private cancelWait(key: string): void {
    const pending = this.waiting.get(key);
    if (!pending) return;
    this.clock.clearTimeout(pending.timer);
    this.waiting.delete(key);
  }

  /** Requeue after a failure with exponential backoff; returns the delay. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.metrics?.retried();
    const delay = backoffDelay(n, this.baseDelayMs, this.maxDelayMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** Forget a key's failure history after it succeeded. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Next key, or undefined once shut down. */
  async get(): Promise<string | undefined> {
    while (this.queue.length === 0) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const key = this.queue.shift()!;
    this.queued.delete(key);
    this.processing.add(key);
    this.metrics?.depth(this.queue.length);
    return key;
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) this.clock.clearTimeout(timer);
    this.waiting.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
