/**
 * The bounded FIFO between the receivers and the downstream, drained by a
 * fixed number of concurrent senders.
 */

/** One queued request. */
export interface QueueItem {
  readonly request: Uint8Array;
  readonly spans: number;
}

export interface ExportQueueOptions {
  readonly maxRequests: number;
  readonly maxBytes: number;
  readonly concurrency: number;
  /** Sends one item; resolves when it is settled either way (never rejects). */
  readonly process: (item: QueueItem) => Promise<void>;
  /** Called after every change of the held requests or bytes. */
  readonly onChange: (requests: number, bytes: number) => void;
}

/**
 * Holds requests until a sender takes them, in arrival order. A request
 * counts against max_requests and max_bytes from the moment it is accepted
 * until its send is settled, retries included, so that memory held by
 * requests being retried is bounded too.
 */
export class ExportQueue {
  private readonly options: ExportQueueOptions;

  private waiting: QueueItem[] = [];
  /** Index of the oldest waiting item: shifting a long array is O(n). */
  private head = 0;
  private heldRequests = 0;
  private heldBytes = 0;
  private active = 0;
  private accepting = true;
  private idleWaiters: Array<() => void> = [];

  constructor(options: ExportQueueOptions) {
    this.options = options;
  }

  /** Requests held, waiting or being sent. */
  get size(): number {
    return this.heldRequests;
  }

  /** Bytes of the requests held. */
  get bytes(): number {
    return this.heldBytes;
  }

  /**
   * Queues `item` unless that would pass a bound; `force` skips the bounds. A
   * request is taken when nothing else is held, even if it alone is over
   * max_bytes, since refusing it would make its sender retry forever.
   */
  offer(item: QueueItem, force: boolean): boolean {
    if (!this.accepting) return false;
    const bytes = item.request.byteLength;
    if (!force && this.heldRequests > 0 && !this.hasRoomFor(bytes)) {
      return false;
    }

    this.waiting.push(item);
    this.heldRequests++;
    this.heldBytes += bytes;
    this.options.onChange(this.heldRequests, this.heldBytes);
    this.pump();
    return true;
  }

  /** True while one more request of any size would be refused. */
  isFull(): boolean {
    const { maxRequests, maxBytes } = this.options;
    return this.heldRequests >= maxRequests || this.heldBytes >= maxBytes;
  }

  /** Refuses every later offer; queued items are still sent. */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Resolves once nothing is waiting and no send is running. */
  whenIdle(): Promise<void> {
    if (this.heldRequests === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Removes and returns the items no sender has taken yet. */
  takeWaiting(): QueueItem[] {
    const left = this.waiting.slice(this.head);
    this.waiting = [];
    this.head = 0;
    for (const item of left) {
      this.heldRequests--;
      this.heldBytes -= item.request.byteLength;
    }
    this.options.onChange(this.heldRequests, this.heldBytes);
    this.notifyIfIdle();
    return left;
  }

  private hasRoomFor(bytes: number): boolean {
    const { maxRequests, maxBytes } = this.options;
    return (
      this.heldRequests + 1 <= maxRequests && this.heldBytes + bytes <= maxBytes
    );
  }

  private pump(): void {
    while (this.active < this.options.concurrency && this.head < this.waiting.length) {
      const item = this.waiting[this.head];
      this.head++;
      this.compact();
      this.active++;
      void this.options.process(item).finally(() => this.settle(item));
    }
  }

  private settle(item: QueueItem): void {
    this.active--;
    this.heldRequests--;
    this.heldBytes -= item.request.byteLength;
    this.options.onChange(this.heldRequests, this.heldBytes);
    this.pump();
    this.notifyIfIdle();
  }

  private compact(): void {
    // Drop the consumed prefix now and then, keeping takes O(1) amortised.
    if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }

  private notifyIfIdle(): void {
    if (this.heldRequests !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
