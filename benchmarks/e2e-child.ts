/**
 * The small request/answer protocol between the end-to-end benchmark and
 * the processes it starts (product, baseline, sink), over the fork IPC
 * channel. Each role runs in its own process so that one's garbage
 * collection never stalls another.
 */

import { fork } from 'node:child_process';

import type { ChildProcess } from 'node:child_process';

/** What a child answers to one operation; values must survive JSON. */
export type Handler = (arg: unknown) => unknown | Promise<unknown>;

/** A started child: its ready message, operations, and stopping. */
export interface BenchChild<R> {
  /** The child's ready message (endpoints and such). */
  readonly ready: R;
  readonly pid: number;
  call<T>(op: string, arg?: unknown): Promise<T>;
  /** Asks the child to close, then kills it if it has not exited in `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

interface Request {
  readonly id: number;
  readonly op: string;
  readonly arg: unknown;
}

interface Answer {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: string;
}

const READY_TIMEOUT_MS = 30_000;

/** Forks `file` with `args` and waits for its ready message. */
export async function startChild<R>(
  file: string,
  args: readonly string[] = [],
  execArgv: readonly string[] = [],
): Promise<BenchChild<R>> {
  const child = fork(file, [...args], {
    execArgv: [...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await waitReady<R>(child, file);
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  child.on('message', (message: Answer) => {
    const waiter = pending.get(message.id);
    if (waiter === undefined) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(message.error));
    else waiter.resolve(message.result);
  });
  child.on('exit', (code, signal) => {
    for (const waiter of pending.values()) {
      waiter.reject(new Error(`${file} exited (${signal ?? code}) during a call`));
    }
    pending.clear();
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    ready,
    pid: child.pid ?? -1,
    call<T>(op: string, arg?: unknown): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, op, arg } satisfies Request);
      });
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ id: 0, op: 'close', arg: null } satisfies Request);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Runs in the child: answers the parent's operations with `handlers`, sends
 * `ready` once, and on `close` (or when the parent goes away) runs `close`
 * and exits.
 */
export function serveParent(
  ready: unknown,
  handlers: Readonly<Record<string, Handler>>,
  close: () => Promise<void>,
): void {
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    void close()
      .catch((err: unknown) => console.error(err))
      .finally(() => process.exit(0));
  };
  process.on('message', (message: Request) => {
    if (message.op === 'close') {
      shutdown();
      return;
    }
    const handler = handlers[message.op];
    void (async () => {
      try {
        if (handler === undefined) throw new Error(`unknown operation ${message.op}`);
        const result = await handler(message.arg);
        process.send?.({ id: message.id, result } satisfies Answer);
      } catch (err) {
        process.send?.({ id: message.id, error: (err as Error).message } satisfies Answer);
      }
    })();
  });
  process.on('disconnect', shutdown);
  process.send?.(ready);
}

function waitReady<R>(child: ChildProcess, file: string): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} sent no ready message within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before it was ready`));
    };
    child.once('exit', onExit);
    child.once('message', (message) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(message as R);
    });
  });
}
