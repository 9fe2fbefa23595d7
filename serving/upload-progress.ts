// Whether an upload in progress is still worth waiting for. Two rules, after
// Apache's mod_reqtimeout (body=…,MinRate=…) and nginx's client_body_timeout:
//   - the whole body must arrive within `timeoutMs` of its start;
//   - every `windowMs`, the bytes that arrived in that window must average at
//     least `minBytesPerSecond` — a client trickling bytes to keep a request
//     open (slowloris) is cut off after one or two windows, while a fast
//     client that stalls for a moment is not.
// Pure: the caller says what time it is.

export interface UploadLimits {
  /** 0: no minimum rate. */
  minBytesPerSecond: number;
  windowMs: number;
  /** 0: no limit on the whole body. */
  timeoutMs: number;
}

export interface UploadCutOff {
  code: "upload_too_slow" | "upload_timeout";
  message: string;
}

export class UploadProgress {
  readonly #started: number;
  #windowStart: number;
  #windowBytes = 0;
  #total = 0;

  constructor(
    readonly limits: UploadLimits,
    now: number,
  ) {
    this.#started = now;
    this.#windowStart = now;
  }

  get total(): number {
    return this.#total;
  }

  received(bytes: number): void {
    this.#windowBytes += bytes;
    this.#total += bytes;
  }

  /**
   * Starts a new rate window now, forgetting the current one: for when this
   * process itself was too busy to read (its event loop stalled), so the
   * bytes waiting in the socket were not the client's fault.
   */
  restartWindow(now: number): void {
    this.#windowStart = now;
    this.#windowBytes = 0;
  }

  /** Why to cut the upload off now, or undefined to keep reading. Call it at least once a window. */
  check(now: number): UploadCutOff | undefined {
    const { minBytesPerSecond, windowMs, timeoutMs } = this.limits;
    if (timeoutMs > 0 && now - this.#started >= timeoutMs) {
      return {
        code: "upload_timeout",
        message: `the body did not arrive within ${timeoutMs} ms (${this.#total} bytes received); send it faster or send a smaller image`,
      };
    }
    const elapsed = now - this.#windowStart;
    if (elapsed < windowMs) return undefined;
    const rate = (this.#windowBytes * 1000) / elapsed;
    if (minBytesPerSecond > 0 && rate < minBytesPerSecond) {
      return {
        code: "upload_too_slow",
        message: `the body arrived at ${Math.round(rate)} bytes/s over the last ${Math.round(elapsed)} ms, below this server's minimum of ${minBytesPerSecond} bytes/s`,
      };
    }
    this.#windowStart = now;
    this.#windowBytes = 0;
    return undefined;
  }
}
