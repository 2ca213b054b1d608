/**
 * The worker threads that run host.ts, shared by every iterator that needs some: a thread is
 * started when first needed, kept while an iterator uses it, and ended shortly after the last
 * one lets it go. A thread keeps the process alive only while a request of it is under way, so
 * an idle pool never holds a process open. A thread that dies fails its requests with the
 * reason (its exit code, or the error it died of) and is replaced at the next acquire.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import { threadEntry } from "../../io/thread-entry.js";
import type { HostReply, HostRequest } from "./protocol.js";

/** How long an unused thread lingers before it is ended, in milliseconds (so back-to-back iterators share threads). */
const LINGER_MS = 1_000;

/** Why a thread's request failed: the thread died under it. */
export class ThreadDied extends Error {
  constructor(readonly reason: string) {
    super(`the worker thread died (${reason})`);
  }
}

/** Requests without their id: the thread numbers them. */
type Request = HostRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

/** One worker thread running the host. */
export class HostThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (reply: HostReply) => void; reject: (error: unknown) => void }>();
  private nextId = 1;
  private death: ThreadDied | null = null;
  /** How many iterators use this thread. */
  users = 0;
  private linger: NodeJS.Timeout | null = null;

  constructor(index: number) {
    const { url, execArgv } = threadEntry(new URL("./", import.meta.url).href, "host");
    this.worker = new Worker(url, { execArgv, name: `checkpipe worker ${index}` });
    this.worker.unref();
    this.worker.on("message", (reply: HostReply) => this.settle(reply));
    this.worker.on("error", (error) => this.die(error instanceof Error ? `${error.name}: ${error.message}` : String(error)));
    this.worker.on("exit", (code) => this.die(`it exited with code ${code}: process.exit() in the module, or it ran out of memory`));
  }

  /** True once the thread died; its requests fail with {@link ThreadDied}. */
  get dead(): boolean {
    return this.death !== null;
  }

  /** Sends a request; resolves with its reply, rejects with {@link ThreadDied} if the thread dies first. */
  request(request: Request, transfer: readonly ArrayBuffer[] = []): Promise<HostReply> {
    if (this.death !== null) return Promise.reject(this.death);
    const id = this.nextId++;
    return new Promise<HostReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) this.worker.ref();
      this.worker.postMessage({ ...request, id }, transfer as ArrayBuffer[]);
    });
  }

  /** Takes the thread for one more user. */
  acquire(): void {
    this.users++;
    if (this.linger !== null) clearTimeout(this.linger);
    this.linger = null;
  }

  /** Lets the thread go; the last user's release ends it after a moment unless it is taken again. */
  release(): void {
    this.users--;
    if (this.users > 0 || this.death !== null) return;
    this.linger = setTimeout(() => {
      if (this.users === 0) void this.end();
    }, LINGER_MS);
    this.linger.unref();
  }

  /** Ends the thread now. */
  async end(): Promise<void> {
    this.death ??= new ThreadDied("it was ended");
    remove(this);
    await this.worker.terminate();
  }

  private settle(reply: HostReply): void {
    const waiter = this.waiting.get(reply.id);
    if (waiter === undefined) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.worker.unref();
    waiter.resolve(reply);
  }

  private die(reason: string): void {
    if (this.death === null) this.death = new ThreadDied(reason);
    remove(this);
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiter of waiters) waiter.reject(this.death);
  }
}

const threads: HostThread[] = [];
let started = 0;

function remove(thread: HostThread): void {
  const at = threads.indexOf(thread);
  if (at !== -1) threads.splice(at, 1);
}

/** `count` live threads for one user (started as needed); give each back with `release()`. */
export function acquireThreads(count: number): HostThread[] {
  while (threads.length < count) threads.push(new HostThread(started++));
  // The least used first, so concurrent iterators spread over the threads.
  const chosen = [...threads].sort((a, b) => a.users - b.users).slice(0, count);
  for (const thread of chosen) thread.acquire();
  return chosen;
}

/** A new live thread for one user, in place of one that died. */
export function replaceThread(): HostThread {
  const thread = new HostThread(started++);
  threads.push(thread);
  thread.acquire();
  return thread;
}
