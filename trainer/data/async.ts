// Small async-iteration helpers for the data pipelines: bounded read-ahead
// and ordered, bounded-concurrency mapping. Bounded everywhere, because the
// inputs (83k COCO images, a dataset of shards) never fit in memory.

/**
 * Map `source` through `fn` with at most `concurrency` calls in flight,
 * yielding results in source order. At most `concurrency` results are held.
 */
export async function* mapOrdered<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency ${concurrency}`);
  const inFlight: Promise<R>[] = [];
  try {
    for await (const item of source) {
      const p = fn(item);
      // Avoid unhandled rejections while the promise waits in the queue; it is awaited below.
      p.catch(() => undefined);
      inFlight.push(p);
      if (inFlight.length >= concurrency) yield await inFlight.shift()!;
    }
    while (inFlight.length > 0) yield await inFlight.shift()!;
  } finally {
    // On early exit let started work settle so nothing writes after we return.
    await Promise.allSettled(inFlight);
  }
}

/**
 * Pull up to `depth` items ahead of the consumer from `source` in the
 * background, so producing (network, decode) overlaps consuming (compute).
 * A source error is delivered when the consumer reaches it. `return()` on the
 * result stops the pump and closes the source.
 */
export function readahead<T>(source: AsyncIterator<T>, depth: number): AsyncGenerator<T> {
  if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`depth ${depth}`);
  type Slot = { value: T } | { done: true } | { error: unknown };
  const buffer: Slot[] = [];
  let wakeConsumer: (() => void) | undefined;
  let wakeProducer: (() => void) | undefined;
  let stopped = false;
  let finished = false;

  const pump = async (): Promise<void> => {
    try {
      while (!stopped) {
        if (buffer.length >= depth) {
          await new Promise<void>((r) => (wakeProducer = r));
          continue;
        }
        const r = await source.next();
        if (r.done) {
          buffer.push({ done: true });
          return;
        }
        buffer.push({ value: r.value });
        wakeConsumer?.();
      }
    } catch (error) {
      buffer.push({ error });
    } finally {
      finished = true;
      wakeConsumer?.();
    }
  };
  const pumping = pump();

  async function* consume(): AsyncGenerator<T> {
    try {
      for (;;) {
        while (buffer.length === 0) {
          if (finished) return;
          await new Promise<void>((r) => (wakeConsumer = r));
          wakeConsumer = undefined;
        }
        const slot = buffer.shift()!;
        const w = wakeProducer;
        wakeProducer = undefined;
        w?.();
        if ("error" in slot) throw slot.error;
        if ("done" in slot) return;
        yield slot.value;
      }
    } finally {
      stopped = true;
      wakeProducer?.();
      await pumping;
      await source.return?.(undefined);
    }
  }
  return consume();
}
