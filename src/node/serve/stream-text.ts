// The server's flow control: what a stream may send so far (the engine streams every token, but a
// stop string is cut only once complete, so text that could begin one is held back and the sent
// pieces concatenate to exactly the non-streamed answer), and the bounded queue of generations.
export class StreamText {
  private text = '';
  private sent = 0;
  private readonly holdBack: number;

  constructor(private readonly stops: string[]) {
    this.holdBack = Math.max(0, ...stops.map((s) => s.length - 1));
  }

  /** Adds a token's text; returns the text now safe to send (maybe empty). */
  push(piece: string): string {
    this.text += piece;
    const hits = this.stops.map((s) => this.text.indexOf(s)).filter((i) => i >= 0);
    const safe = hits.length ? Math.min(...hits) : this.text.length - this.holdBack;
    if (safe <= this.sent) return '';
    const out = this.text.slice(this.sent, safe);
    this.sent = safe;
    return out;
  }

  /** The rest of the final answer (as the engine returned it) not yet sent. */
  finish(finalText: string): string {
    const already = this.text.slice(0, this.sent);
    return finalText.startsWith(already) ? finalText.slice(this.sent) : '';
  }
}

/** One generation at a time; at most `maxQueue` requests wait for their turn, in arrival order. */
export class GenerationQueue {
  private busy = false;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly maxQueue: number) {}

  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * A turn: `ready` resolves when it is this request's; `done` ends it (or leaves the queue);
   * `abandon` leaves the queue only if the turn has not started. Undefined when the queue is full.
   */
  enter(): { ready: Promise<void>; done: () => void; abandon: () => void } | undefined {
    if (this.busy && this.waiting.length >= this.maxQueue) return undefined;
    let state: 'waiting' | 'running' | 'done' = 'waiting';
    let grant!: () => void;
    const ready = new Promise<void>((resolve) => (grant = resolve));
    const start = () => {
      state = 'running';
      this.busy = true;
      grant();
    };
    if (!this.busy) start();
    else this.waiting.push(start);
    const done = () => {
      if (state === 'done') return;
      if (state === 'waiting') {
        this.waiting.splice(this.waiting.indexOf(start), 1);
        state = 'done';
        return;
      }
      state = 'done';
      this.busy = false;
      this.waiting.shift()?.();
    };
    return { ready, done, abandon: () => state === 'waiting' && done() };
  }
}
