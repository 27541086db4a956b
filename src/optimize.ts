/**
 * The optimiser loop: Adam (default) or SGD over one variable, a projection
 * after each step, progress, abort, history, and yielding to the event loop.
 * It knows nothing about masks or models: the caller supplies a synchronous
 * step that returns the gradient and the scalars to record.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError, throwIfAborted } from './errors';
import { checkOptionsObject } from './validate';

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
  /** Scalars to record, e.g. `{ loss, score, l1 }`. */
  record: Record<string, tf.Scalar>;
}

/** One recorded step: the step number (1-based) and the recorded values. */
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
  /** Progress callback, awaited when it returns a promise. Receives every step's record. */
  onStep?: (record: StepRecord) => void | Promise<void>;
  /**
   * Called with the history read so far, after each read; return true to stop.
   * It may also steer the run between steps (e.g. restore a better iterate and
   * call the optimiser's `reset()`).
   */
  shouldStop?: (history: readonly StepRecord[]) => boolean;
  /** Aborts between steps; the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Read recorded scalars from the device every this many steps (one
   * asynchronous read of all of them). Default 10; 1 when `onStep` is given.
   */
  readEvery?: number;
}

/** The loop's outcome. */
export interface OptimizeResult {
  /** The steps run (less than requested when `shouldStop` stopped the loop). */
  steps: number;
  /** One record per step. */
  history: StepRecord[];
}

/** Give the event loop a turn (a browser page stays responsive; timers and aborts get through). */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  if (typeof MessageChannel !== 'undefined') {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Run the loop on `param`. Each step: `computeStep` (synchronous), the
 * optimiser's update, `afterUpdate`; recorded scalars are read asynchronously
 * in batches, never with a synchronous device read. Every tensor a step
 * returns is disposed by the loop, also on error and abort.
 */
export async function optimize(param: tf.Variable, options: OptimizeOptions): Promise<OptimizeResult> {
  const fn = 'optimize';
  if (!(param instanceof tf.Variable) || param.isDisposed) {
    throw new FgvisArgumentError(fn, 'param', `must be a live tf.Variable, got ${param instanceof tf.Tensor && param.isDisposed ? 'a disposed tensor' : describe(param)}`);
  }
  if (options === undefined) throw new FgvisArgumentError(fn, 'options', 'must be an object, got undefined');
  checkOptionsObject(fn, options, ['steps', 'optimizer', 'computeStep', 'afterUpdate', 'onStep', 'shouldStop', 'signal', 'readEvery']);
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
    throw new FgvisArgumentError('optimize', 'options.steps', `must be a positive integer, got ${describe(steps)}`);
  }
  const readEvery = options.readEvery ?? (onStep ? 1 : 10);
  if (!Number.isInteger(readEvery) || readEvery < 1) {
    throw new FgvisArgumentError('optimize', 'options.readEvery', `must be a positive integer, got ${describe(readEvery)}`);
  }
  const history: StepRecord[] = [];
  let pending: Array<{ step: number; record: Record<string, tf.Scalar> }> = [];

  const flush = async (): Promise<boolean> => {
    if (pending.length === 0) return false;
    const batch = pending;
    pending = [];
    const keys = Object.keys(batch[0]!.record);
    const stacked = tf.tidy(() => tf.stack(batch.flatMap((b) => keys.map((k) => b.record[k]!))));
    for (const b of batch) tf.dispose(Object.values(b.record));
    let values: Float32Array;
    try {
      values = (await stacked.data()) as Float32Array;
    } finally {
      stacked.dispose();
    }
    let i = 0;
    for (const b of batch) {
      const rec = { step: b.step } as StepRecord;
      for (const k of keys) (rec as Record<string, number>)[k] = values[i++]!;
      history.push(rec);
      if (onStep) await onStep(rec);
    }
    return shouldStop ? shouldStop(history) : false;
  };

  let done = 0;
  try {
    for (let step = 1; step <= steps; step++) {
      throwIfAborted(signal);
      const out = computeStep(step);
      if (out == null || !(out.grad instanceof tf.Tensor) || out.grad.shape.length !== param.shape.length || out.grad.shape.some((d, i) => d !== param.shape[i])) {
        if (out?.grad instanceof tf.Tensor) out.grad.dispose();
        if (out?.record != null && typeof out.record === 'object') tf.dispose(Object.values(out.record).filter((t) => t instanceof tf.Tensor));
        throw new FgvisArgumentError(fn, 'options.computeStep', `must return { grad, record } with grad of the variable's shape [${param.shape.join(',')}], got ${describe(out?.grad)}`);
      }
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
    return { steps: done, history };
  } finally {
    for (const b of pending) tf.dispose(Object.values(b.record));
    pending = [];
  }
}
