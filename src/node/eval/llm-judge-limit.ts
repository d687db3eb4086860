// How fast the LLM judge may ask: at most N requests in flight and at most M started in any minute
// (a sliding window, as providers count), plus a sleep that an AbortSignal ends early. Not the
// retry policy (llm-judge-http.ts) and nothing about HTTP.

/** The signal's reason as an Error (an AbortSignal's default reason is a DOMException "AbortError"). */
export function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new Error(typeof r === 'string' ? r : 'cancelled');
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface LimiterOptions {
  requestsPerMinute: number;
  concurrency: number;
  /** The rate window; a minute except in tests. */
  windowMs?: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class RequestLimiter {
  private active = 0;
  private readonly queue: Waiter[] = [];
  /** Start times (ms) of the requests in the current window, oldest first. */
  private readonly starts: number[] = [];
  private readonly windowMs: number;

  constructor(private readonly o: LimiterOptions) {
    if (!(Number.isInteger(o.concurrency) && o.concurrency >= 1)) throw new Error(`judge concurrency must be an integer ≥ 1, got ${o.concurrency}`);
    if (!(Number.isFinite(o.requestsPerMinute) && o.requestsPerMinute > 0))
      throw new Error(`judge requests per minute must be a number > 0, got ${o.requestsPerMinute}`);
    this.windowMs = o.windowMs ?? 60_000;
  }

  /**
   * Waits for a free slot, then for room in the rate window, and records the start. The returned
   * function frees the slot (call it once the response is read, whatever happened).
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    await this.takeSlot(signal);
    try {
      await this.waitForRate(signal);
    } catch (err) {
      this.release();
      throw err;
    }
    let released = false;
    return () => {
      if (!released) this.release();
      released = true;
    };
  }

  private takeSlot(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.active < this.o.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(abortError(signal!));
      };
      const waiter: Waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      this.queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(): void {
    const next = this.queue.shift();
    // The slot passes straight to the next waiter, so `active` stays counted.
    if (next) next.resolve();
    else this.active--;
  }

  private async waitForRate(signal?: AbortSignal): Promise<void> {
    const limit = Math.max(1, Math.floor(this.o.requestsPerMinute * (this.windowMs / 60_000)));
    for (;;) {
      const now = Date.now();
      while (this.starts.length > 0 && this.starts[0] <= now - this.windowMs) this.starts.shift();
      // Checked and recorded without an await between, so two waiters cannot take the same room.
      if (this.starts.length < limit) {
        this.starts.push(now);
        return;
      }
      await sleep(this.starts[0] + this.windowMs - now + 1, signal);
    }
  }
}
