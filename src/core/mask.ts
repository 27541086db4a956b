/**
 * The mask parameterisation: a full-resolution,
 * per-pixel, per-channel mask `m` in [0, 1] with the input's shape, starting
 * at ones, and the explanation `e = m * x + (1 - m) * r`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError } from '../util/errors';
import { checkLiveTensor, checkOptionsObject } from '../util/validate';

/**
 * How the mask is kept in [0, 1].
 * - `'clip'` (default, the paper's reading): the parameter is the mask itself,
 *   clipped to [0, 1] after every optimiser step.
 * - `'sigmoid'`: the parameter is a logit `z` and `m = sigmoid(z)`; it starts at
 *   `m = 0.999` since a sigmoid never reaches 1.
 */
export type MaskParameterization = 'clip' | 'sigmoid';

/** Options of {@link createMask}. */
export interface MaskOptions {
  /** Default `'clip'`. */
  parameterization?: MaskParameterization;
}

/** A trainable mask. Owns its variable: call {@link Mask.dispose}. */
export interface Mask {
  /** The parameterisation in use. */
  readonly parameterization: MaskParameterization;
  /** The optimised parameter (the mask itself for `'clip'`, logits for `'sigmoid'`). */
  readonly param: tf.Variable;
  /** The mask values `m` in [0, 1] as a function of a parameter tensor (differentiable). */
  valuesOf(param: tf.Tensor): tf.Tensor;
  /** The current mask values; a new tensor owned by the caller. */
  values(): tf.Tensor;
  /** Project the parameter back onto the feasible set after a step (clipping for `'clip'`). */
  project(): void;
  /** Set the mask values (clipped to [0, 1]); the tensor given is not disposed. */
  assign(values: tf.Tensor): void;
  /** Free the variable. Idempotent. */
  dispose(): void;
}

/** The starting logit of the sigmoid parameterisation: sigmoid(6.9) = 0.999. */
const SIGMOID_START = 6.9;

/** Create a mask of the given shape, all ones (0.999 for `'sigmoid'`). */
export function createMask(shape: readonly number[], options: MaskOptions = {}): Mask {
  checkOptionsObject('createMask', options, ['parameterization']);
  const parameterization = options.parameterization ?? 'clip';
  if (parameterization !== 'clip' && parameterization !== 'sigmoid') {
    throw new FgvisArgumentError('createMask', 'options.parameterization', `must be 'clip' or 'sigmoid', got ${describe(parameterization)}`);
  }
  if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new FgvisArgumentError('createMask', 'shape', `must be a non-empty array of positive integers, got ${describe(shape)}`);
  }
  const start = parameterization === 'clip' ? 1 : SIGMOID_START;
  const param = tf.tidy(() => tf.variable(tf.fill(shape as number[], start), true));
  const valuesOf = (p: tf.Tensor): tf.Tensor => (parameterization === 'clip' ? p : tf.sigmoid(p));
  let disposed = false;
  return {
    parameterization,
    param,
    valuesOf,
    values: () => (parameterization === 'clip' ? tf.clone(param) : tf.sigmoid(param)),
    project: () => {
      if (parameterization === 'clip') tf.tidy(() => param.assign(tf.clipByValue(param, 0, 1)));
    },
    assign: (values) => {
      tf.tidy(() => {
        const m = tf.clipByValue(values, 0, 1);
        if (parameterization === 'clip') param.assign(m);
        else {
          const safe = tf.clipByValue(m, 1e-4, 1 - 1e-4);
          param.assign(tf.log(tf.div(safe, tf.sub(1, safe))));
        }
      });
    },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      param.dispose();
    },
  };
}

/**
 * The explanation `e = m * x + (1 - m) * r`; with `r = null` (the zero
 * reference) exactly `m * x`. Differentiable in `m`. Returns a new tensor.
 */
export function composeExplanation(m: tf.Tensor, x: tf.Tensor, r: tf.Tensor | null): tf.Tensor {
  const fn = 'composeExplanation';
  checkLiveTensor(fn, 'x', x);
  // m and r: x's shape, or broadcast to it along dimensions of size 1.
  for (const [name, t] of [['m', m], ['r', r]] as const) {
    if (name === 'r' && t === null) continue;
    checkLiveTensor(fn, name, t);
    if (t.rank !== x.rank || t.shape.some((d, i) => d !== x.shape[i] && d !== 1)) {
      throw new FgvisArgumentError(fn, name, `must have x's shape [${x.shape.join(',')}] (or 1 along broadcast dimensions), got [${t.shape.join(',')}]`);
    }
  }
  // Written as m*x + (1-m)*r rather than r + m*(x-r): at m = 1 this is exactly x,
  // so a first pass at the starting mask sees the image bit for bit.
  return tf.tidy(() => (r === null ? tf.mul(m, x) : tf.add(tf.mul(m, x), tf.mul(tf.sub(1, m), r))));
}
