/**
 * A pool of explain workers over a fixed list of images: each worker loads
 * the model once and gets the next image as soon as it has answered the last
 * one. Answers come out as events, in completion order. A failure that is
 * about the whole run (the model, a package, the target) or an abort ends
 * it; a worker that dies on an image fails that image and is replaced.
 *
 * @packageDocumentation
 */
import { Worker } from 'node:worker_threads';
import { ExplainManyError, FATAL_EXIT_CODES, type FromWorker, type ManyResult, type WorkerInit } from './protocol';

/** What the pool reports. */
export type PoolEvent =
  | { kind: 'done'; index: number; result: ManyResult }
  | { kind: 'failed'; index: number; error: ExplainManyError }
  | { kind: 'end' }
  | { kind: 'fatal'; error: unknown };

interface Slot {
  worker: Worker;
  ready: boolean;
  /** The index of the image it is explaining. */
  busy?: number;
  crash?: Error;
}

/** Replacements for workers that died on an image, at most, before the run gives up. */
const MAX_RESPAWNS = 8;

let live = 0;

/** How many explain workers are running in this thread (for tests: every run must leave none). */
export function liveWorkers(): number {
  return live;
}

/** A queue of events with one waiting reader. */
class EventQueue<T> {
  private items: T[] = [];
  private waiting: ((item: T) => void) | undefined;
  push(item: T): void {
    const w = this.waiting;
    if (w) {
      this.waiting = undefined;
      w(item);
    } else this.items.push(item);
  }
  next(): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

/** The pool: `start()`, read `next()` until `end` or `fatal`, then `close()` (always). */
export class ExplainPool {
  private readonly events = new EventQueue<PoolEvent>();
  private readonly slots = new Set<Slot>();
  private nextImage = 0;
  private answered = 0;
  private respawns = 0;
  private stopped = false;

  constructor(
    private readonly script: URL,
    private readonly init: WorkerInit,
    private readonly images: readonly string[],
    private readonly size: number,
  ) {}

  /** Start the workers; each takes images as soon as its model is loaded. */
  start(): void {
    if (this.images.length === 0) this.events.push({ kind: 'end' });
    for (let i = 0; i < this.size; i++) this.spawn();
  }

  /** The next event. */
  next(): Promise<PoolEvent> {
    return this.events.next();
  }

  /** End the run with `error` (e.g. an abort): no more images are handed out, and the reader gets it next. */
  fail(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.events.push({ kind: 'fatal', error });
  }

  /** Terminate every worker (their tfjs, backend and model go with them); resolves when they have exited. */
  async close(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.slots].map((s) => s.worker.terminate()));
    this.slots.clear();
  }

  private spawn(): void {
    const worker = new Worker(this.script, { workerData: this.init });
    live++;
    const slot: Slot = { worker, ready: false };
    this.slots.add(slot);
    worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
    worker.on('error', (e) => (slot.crash = e));
    worker.on('exit', (code) => this.onExit(slot, code));
  }

  private dispatch(slot: Slot): void {
    if (this.stopped || this.nextImage >= this.images.length) return;
    const index = this.nextImage++;
    slot.busy = index;
    slot.worker.postMessage({ type: 'task', task: { id: index, image: this.images[index]! } });
  }

  /** Report an image's answer; the slot (if its worker lives) takes the next image. */
  private answer(slot: Slot | undefined, event: PoolEvent): void {
    if (slot) slot.busy = undefined;
    if (this.stopped) return;
    this.events.push(event);
    if (++this.answered === this.images.length) this.events.push({ kind: 'end' });
    else if (slot) this.dispatch(slot);
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'ready') {
      slot.ready = true;
      this.dispatch(slot);
    } else if (m.type === 'init-failed') {
      this.fail(new ExplainManyError(m.error));
    } else if (m.type === 'done') {
      this.answer(slot, { kind: 'done', index: m.id, result: m.result });
    } else if (FATAL_EXIT_CODES.includes(m.error.exitCode)) {
      this.fail(new ExplainManyError(m.error));
    } else {
      this.answer(slot, { kind: 'failed', index: m.id, error: new ExplainManyError(m.error) });
    }
  }

  private onExit(slot: Slot, code: number): void {
    live--;
    this.slots.delete(slot);
    if (this.stopped) return;
    const why = `${slot.crash ? `: ${slot.crash.message}` : ''} (exit code ${code})`;
    if (!slot.ready) {
      this.fail(new ExplainManyError({ name: 'Error', message: `a worker stopped while loading the model${why}`, exitCode: 1 }));
      return;
    }
    if (slot.busy === undefined) return;
    const message = `the worker explaining this image stopped${why}`;
    this.answer(undefined, { kind: 'failed', index: slot.busy, error: new ExplainManyError({ name: 'Error', message, exitCode: 1 }) });
    if (this.nextImage >= this.images.length) return;
    if (++this.respawns > MAX_RESPAWNS) this.fail(new ExplainManyError({ name: 'Error', message: `workers keep stopping; the last one${why}`, exitCode: 1 }));
    else this.spawn();
  }
}
