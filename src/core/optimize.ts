/**
 * The optimiser loop: Adam (default) or SGD over one variable, a projection
 * after each step, progress, abort, history, and yielding to the event loop.
 * It knows nothing about masks or models: the caller supplies a synchronous
 * step that returns the gradient and the scalars to record.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError, throwIfAborted } from '../util/errors';
import { checkOptionsObject } from '../util/validate';
import { yieldToEventLoop } from '../util/event-loop';

/** A first-order optimiser over one variable. Owns its state tensors: call `dispose`. */
export interface Optimizer {
  /** Name, e.g. `'adam'`. */
  readonly name: string;
  /** The step size; may be changed between steps. */
  learningRate: number;
  /** Forget the state (moments, step count), e.g. after the variable was reset. */
  reset(): void;
  /** Apply one update `param <- param - step(grad)`. `grad` is not disposed. */
  apply(param: tf.Variable, grad: tf.Tensor): void;
  /**
   * Advance the state with `grad` and return `step(grad)`, the amount to
   * subtract, without touching any variable (a new tensor owned by the
   * caller; `grad` is not disposed). `apply` is `param.assign(param - update(grad))`.
   */
  update(grad: tf.Tensor): tf.Tensor;
  /** Free the optimiser's state. Idempotent. */
  dispose(): void;
}

/** Options of {@link adam}. */
export interface AdamOptions {
  /** Step size; default 0.1. */
  learningRate?: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-8. */
  epsilon?: number;
}

function checkRate(fn: string, learningRate: number): void {
  if (typeof learningRate !== 'number' || !(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new FgvisArgumentError(fn, 'learningRate', `must be a positive finite number, got ${describe(learningRate)}`);
  }
}

/** `param <- param - optimizer.update(grad)`: `apply` for any optimiser written as `update`. */
export function applyUpdate(optimizer: Optimizer, param: tf.Variable, grad: tf.Tensor): void {
  const step = optimizer.update(grad);
  try {
    tf.tidy(() => param.assign(tf.sub(param, step)));
  } finally {
    step.dispose();
  }
}

/** Adam (Kingma & Ba 2015) with bias correction, written for one variable (no global variable names). */
export function adam(options: AdamOptions = {}): Optimizer {
  checkOptionsObject('adam', options, ['learningRate', 'beta1', 'beta2', 'epsilon']);
  const { learningRate = 0.1, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = options;
  for (const [name, v] of [['beta1', beta1], ['beta2', beta2]] as const) {
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw new FgvisArgumentError('adam', name, `must be in [0, 1), got ${describe(v)}`);
  }
  if (typeof epsilon !== 'number' || !(epsilon > 0) || !Number.isFinite(epsilon)) {
    throw new FgvisArgumentError('adam', 'epsilon', `must be a positive finite number, got ${describe(epsilon)}`);
  }
  checkRate('adam', learningRate);
  let m: tf.Tensor | null = null;
  let v: tf.Tensor | null = null;
  let t = 0;
  return {
    name: 'adam',
    learningRate,
    reset() {
      m?.dispose();
      v?.dispose();
      m = v = null;
      t = 0;
    },
    apply(param, grad) {
      applyUpdate(this, param, grad);
    },
    update(grad) {
      const lr = this.learningRate;
      t += 1;
      const [m1, v1, step] = tf.tidy(() => {
        const mNew = m === null ? tf.mul(1 - beta1, grad) : tf.add(tf.mul(beta1, m), tf.mul(1 - beta1, grad));
        const vNew = v === null ? tf.mul(1 - beta2, tf.square(grad)) : tf.add(tf.mul(beta2, v), tf.mul(1 - beta2, tf.square(grad)));
        const stepSize = (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
        return [mNew, vNew, tf.mul(stepSize, tf.div(mNew, tf.add(tf.sqrt(vNew), epsilon)))];
      });
      m?.dispose();
      v?.dispose();
      m = m1!;
      v = v1!;
      return step!;
    },
    dispose() {
      this.reset();
    },
  };
}

/** Options of {@link sgd}. */
export interface SgdOptions {
  /** Step size; default 0.1. Plain gradients are small per pixel: SGD needs a larger rate than Adam. */
  learningRate?: number;
  /** Heavy-ball momentum in [0, 1); default 0. */
  momentum?: number;
}

/** Stochastic gradient descent with optional momentum (the paper's optimiser). */
export function sgd(options: SgdOptions = {}): Optimizer {
  checkOptionsObject('sgd', options, ['learningRate', 'momentum']);
  const { learningRate = 0.1, momentum = 0 } = options;
  checkRate('sgd', learningRate);
  if (!(momentum >= 0 && momentum < 1)) throw new FgvisArgumentError('sgd', 'momentum', `must be in [0, 1), got ${describe(momentum)}`);
  let velocity: tf.Tensor | null = null;
  return {
    name: 'sgd',
    learningRate,
    reset() {
      velocity?.dispose();
      velocity = null;
    },
    apply(param, grad) {
      applyUpdate(this, param, grad);
    },
    update(grad) {
      const lr = this.learningRate;
      const [next, step] = tf.tidy(() => {
        const vNew = velocity === null || momentum === 0 ? tf.clone(grad) : tf.add(tf.mul(momentum, velocity), grad);
        return [vNew, tf.mul(lr, vNew)];
      });
      velocity?.dispose();
      velocity = next!;
      return step!;
    },
    dispose() {
      this.reset();
    },
  };
}

/** What one step returns. The loop takes ownership of every tensor. */
export interface StepOutput {
  /** The gradient with respect to the variable. */
  grad: tf.Tensor;
  /**
   * Values to record, e.g. `{ loss, score, l1 }`: scalars, or with
   * `items > 1` vectors `[items]` (one value per item).
   */
  record: Record<string, tf.Tensor>;
}

/** One recorded step of one item: the step number (1-based) and the recorded values. */
export type StepRecord = { step: number } & Record<string, number>;

/** Options of {@link optimize}. */
export interface OptimizeOptions {
  /** Number of steps; a positive integer. */
  steps: number;
  /** The optimiser. */
  optimizer: Optimizer;
  /** One synchronous step: compute the gradient at the variable's current value (1-based step number). */
  computeStep: (step: number) => StepOutput;
  /** Called synchronously after each update, e.g. a projection. */
  afterUpdate?: (step: number) => void;
  /**
   * Independent problems held in the variable's rows (e.g. a batch of
   * masks); every recorded value is then a vector `[items]`, read into one
   * record per item. Default 1.
   */
  items?: number;
  /**
   * Progress callback, awaited when it returns a promise. Receives every
   * step's record (of every item, in step order), after each read.
   */
  onStep?: (record: StepRecord, item: number) => void | Promise<void>;
  /**
   * Called after each read with the history read so far (`histories[i]`
   * for item i; `history` is item 0's); return true to stop. It may also
   * steer the run between steps (e.g. restore a better iterate and call the
   * optimiser's `reset()`).
   */
  shouldStop?: (history: readonly StepRecord[], histories: readonly (readonly StepRecord[])[]) => boolean;
  /** Aborts between steps; the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Read recorded values from the device every this many steps (one
   * asynchronous read of all of them), then call `onStep` and `shouldStop`.
   * Default 10, with or without `onStep`, so that a run's decisions do not
   * depend on who watches it.
   */
  readEvery?: number;
}

/** The loop's outcome. */
export interface OptimizeResult {
  /** The steps run (less than requested when `shouldStop` stopped the loop). */
  steps: number;
  /** One record per step (of item 0). */
  history: StepRecord[];
  /** One history per item. */
  histories: StepRecord[][];
}

/** Check the options of {@link optimize}; returns the read interval and the item count. */
function checkOptimizeOptions(param: tf.Variable, options: OptimizeOptions): { readEvery: number; items: number } {
  const fn = 'optimize';
  if (!(param instanceof tf.Variable) || param.isDisposed) {
    throw new FgvisArgumentError(fn, 'param', `must be a live tf.Variable, got ${param instanceof tf.Tensor && param.isDisposed ? 'a disposed tensor' : describe(param)}`);
  }
  if (options === undefined) throw new FgvisArgumentError(fn, 'options', 'must be an object, got undefined');
  checkOptionsObject(fn, options, ['steps', 'optimizer', 'computeStep', 'afterUpdate', 'items', 'onStep', 'shouldStop', 'signal', 'readEvery']);
  const { steps, optimizer, computeStep, afterUpdate, onStep, shouldStop, signal } = options;
  if (optimizer === null || typeof optimizer !== 'object' || typeof optimizer.apply !== 'function') {
    throw new FgvisArgumentError(fn, 'options.optimizer', `must be an Optimizer (e.g. adam() or sgd()), got ${describe(optimizer)}`);
  }
  for (const [name, f, required] of [['computeStep', computeStep, true], ['afterUpdate', afterUpdate, false], ['onStep', onStep, false], ['shouldStop', shouldStop, false]] as const) {
    if ((required || f !== undefined) && typeof f !== 'function') throw new FgvisArgumentError(fn, `options.${name}`, `must be a function, got ${describe(f)}`);
  }
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw new FgvisArgumentError(fn, 'options.signal', `must be an AbortSignal, got ${describe(signal)}`);
  }
  if (!Number.isInteger(steps) || steps < 1) {
    throw new FgvisArgumentError(fn, 'options.steps', `must be a positive integer, got ${describe(steps)}`);
  }
  const readEvery = options.readEvery ?? 10;
  if (!Number.isInteger(readEvery) || readEvery < 1) {
    throw new FgvisArgumentError(fn, 'options.readEvery', `must be a positive integer, got ${describe(readEvery)}`);
  }
  const items = options.items ?? 1;
  if (!Number.isInteger(items) || items < 1) {
    throw new FgvisArgumentError(fn, 'options.items', `must be a positive integer, got ${describe(items)}`);
  }
  return { readEvery, items };
}

/** Dispose whatever tensors a (possibly malformed) step output holds. */
function disposeStepOutput(out: unknown): void {
  if (out == null || typeof out !== 'object') return;
  const { grad, record } = out as Partial<StepOutput>;
  if (grad instanceof tf.Tensor) grad.dispose();
  if (record != null && typeof record === 'object') tf.dispose(Object.values(record).filter((t) => t instanceof tf.Tensor));
}

/**
 * Run the loop on `param`. Each step: `computeStep` (synchronous), the
 * optimiser's update, `afterUpdate`; recorded values are read asynchronously
 * in batches, never with a synchronous device read. Every tensor a step
 * returns is disposed by the loop, also on error and abort.
 */
export async function optimize(param: tf.Variable, options: OptimizeOptions): Promise<OptimizeResult> {
  const { readEvery, items } = checkOptimizeOptions(param, options);
  const { steps, optimizer, computeStep, afterUpdate, onStep, shouldStop, signal } = options;
  const histories: StepRecord[][] = Array.from({ length: items }, () => []);
  let pending: Array<{ step: number; record: Record<string, tf.Tensor> }> = [];

  const flush = async (): Promise<boolean> => {
    if (pending.length === 0) return false;
    const batch = pending;
    pending = [];
    const keys = Object.keys(batch[0]!.record);
    const stacked = tf.tidy(() => tf.concat(batch.flatMap((b) => keys.map((k) => tf.reshape(b.record[k]!, [-1])))));
    for (const b of batch) tf.dispose(Object.values(b.record));
    let values: Float32Array;
    try {
      values = (await stacked.data()) as Float32Array;
    } finally {
      stacked.dispose();
    }
    let at = 0;
    for (const b of batch) {
      const records = histories.map(() => ({ step: b.step }) as StepRecord);
      for (const k of keys) for (const rec of records) (rec as Record<string, number>)[k] = values[at++]!;
      for (let i = 0; i < items; i++) histories[i]!.push(records[i]!);
      if (onStep) {
        for (let i = 0; i < items; i++) {
          throwIfAborted(signal); // no record after an abort, even within a read
          await onStep(records[i]!, i);
        }
      }
    }
    return shouldStop ? shouldStop(histories[0]!, histories) : false;
  };

  let done = 0;
  try {
    for (let step = 1; step <= steps; step++) {
      throwIfAborted(signal);
      const out = computeStep(step);
      checkStepOutput(param, out, items);
      try {
        optimizer.apply(param, out.grad);
      } catch (e) {
        tf.dispose(Object.values(out.record));
        throw e;
      } finally {
        out.grad.dispose();
      }
      pending.push({ step, record: out.record });
      afterUpdate?.(step);
      done = step;
      if (pending.length >= readEvery || step === steps) {
        if (await flush()) break;
      }
      await yieldToEventLoop();
    }
    throwIfAborted(signal);
    return { steps: done, history: histories[0]!, histories };
  } finally {
    for (const b of pending) tf.dispose(Object.values(b.record));
    pending = [];
  }
}

/** A step output must hold a gradient of the variable's shape and `items` values per record; else it is freed and refused. */
function checkStepOutput(param: tf.Variable, out: StepOutput, items: number): void {
  const gradOk = out != null && out.grad instanceof tf.Tensor && out.grad.shape.length === param.shape.length && out.grad.shape.every((d, i) => d === param.shape[i]);
  if (!gradOk) {
    disposeStepOutput(out);
    throw new FgvisArgumentError('optimize', 'options.computeStep', `must return { grad, record } with grad of the variable's shape [${param.shape.join(',')}], got ${describe(out?.grad)}`);
  }
  const bad = out.record == null || typeof out.record !== 'object' ? '' : Object.keys(out.record).find((k) => !(out.record[k] instanceof tf.Tensor) || out.record[k]!.size !== items);
  if (out.record == null || typeof out.record !== 'object' || bad !== undefined) {
    disposeStepOutput(out);
    const got = bad ? `record.${bad} = ${describe(out.record[bad])}` : describe(out.record);
    throw new FgvisArgumentError('optimize', 'options.computeStep', `must return a record of tensors with ${items === 1 ? 'one value' : `${items} values (one per item)`} each, got ${got}`);
  }
}

/**
 * One optimiser per row of a batched variable (each item its own state), as
 * one {@link Optimizer}: a row whose `active(i)` is false does not move.
 * With one row it is that row's optimiser. `reset` and `dispose` reach every
 * row's optimiser.
 */
export function rowOptimizer(rows: readonly Optimizer[], active: (i: number) => boolean): Optimizer {
  const B = rows.length;
  const self: Optimizer = {
    name: rows[0]!.name,
    learningRate: rows[0]!.learningRate,
    reset: () => rows.forEach((r) => r.reset()),
    update: (grad) => {
      if (B === 1) return rows[0]!.update(grad);
      // Not in a tidy: each optimiser keeps its new state.
      const parts = tf.split(grad, B);
      const steps: tf.Tensor[] = [];
      try {
        parts.forEach((g, i) => steps.push(active(i) ? rows[i]!.update(g) : tf.zerosLike(g)));
        return tf.concat(steps);
      } finally {
        tf.dispose([...parts, ...steps]);
      }
    },
    apply: (param, grad) => applyUpdate(self, param, grad),
    dispose: () => rows.forEach((r) => r.dispose()),
  };
  return self;
}
