/**
 * Runs async jobs one at a time in the order they were queued: rule
 * reloads and rules API changes never interleave, so a change is always
 * made to the catalog the previous job left.
 */

/** A one-at-a-time job queue. */
export interface SerialQueue {
  /** Queues a job; the promise settles with the job's own result. */
  run<T>(job: () => Promise<T>): Promise<T>;
  /** Settles once every job queued so far has finished. */
  idle(): Promise<void>;
}

/** Creates an empty queue. */
export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(job: () => Promise<T>): Promise<T> {
      const result = tail.then(job);
      // A failed job must not stop the ones queued after it.
      tail = result.catch(() => undefined);
      return result;
    },
    idle(): Promise<void> {
      return tail.then(() => undefined);
    },
  };
}
