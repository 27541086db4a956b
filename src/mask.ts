/**
 * The mask parameterisation and the reference: a full-resolution,
 * per-pixel, per-channel mask `m` in [0, 1] with the input's shape, starting
 * at ones, and the explanation `e = m * x + (1 - m) * r`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError } from './errors';
import { checkOptionNames } from './validate';

/** `options` must be undefined or a plain object with only `known` names. */
function checkOptions(fn: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || options instanceof tf.Tensor) {
    throw new FgvisArgumentError(fn, 'options', `must be an object, got ${describe(options)}`);
  }
  checkOptionNames(fn, options, known);
}

/** `t` must be a live tensor (of rank `rank`, when given). */
function checkTensor(fn: string, argument: string, t: unknown, rank?: number): asserts t is tf.Tensor {
  if (!(t instanceof tf.Tensor)) throw new FgvisArgumentError(fn, argument, `must be a Tensor, got ${describe(t)}`);
  if (t.isDisposed) throw new FgvisArgumentError(fn, argument, 'is a disposed tensor; expected a live (undisposed) tensor');
  if (rank !== undefined && t.rank !== rank) {
    throw new FgvisArgumentError(fn, argument, `must be rank ${rank}, got rank ${t.rank} [${t.shape.join(',')}]`);
  }
}

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
  checkOptions('createMask', options, ['parameterization']);
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
 * The reference `r` that masked-out values move to.
 * - `'zero'` (default, the paper): zero in the model's input space;
 * - `'mean'`: the image's per-channel mean;
 * - `'blur'`: the image blurred with a Gaussian (sigma `blurSigma` pixels, default 10);
 * - `'noise'`: Gaussian noise with the image's per-channel mean and standard deviation (seeded);
 * - a tensor with the input's shape (`[H,W,C]` or `[1,H,W,C]`).
 */
export type Reference = 'zero' | 'mean' | 'blur' | 'noise' | tf.Tensor;

/** Options of {@link makeReference}. */
export interface ReferenceOptions {
  /** Gaussian blur sigma in pixels for `'blur'`; default 10. */
  blurSigma?: number;
  /** Seed for `'noise'`. */
  seed?: number;
  /** Function name used in error messages. */
  caller?: string;
}

/**
 * Build the reference for a `[1,H,W,C]` input. Returns `null` for `'zero'`
 * (the explanation is then exactly `m * x`), otherwise a new `[1,H,W,C]`
 * tensor owned by the caller. A user tensor is copied, never consumed.
 */
export function makeReference(x: tf.Tensor4D, reference: Reference = 'zero', options: ReferenceOptions = {}): tf.Tensor4D | null {
  checkOptions('makeReference', options, ['blurSigma', 'seed', 'caller']);
  const fn = options.caller ?? 'makeReference';
  checkTensor(fn, 'x', x, 4);
  if (options.seed !== undefined && (typeof options.seed !== 'number' || !Number.isFinite(options.seed))) {
    throw new FgvisArgumentError(fn, 'options.seed', `must be a finite number, got ${describe(options.seed)}`);
  }
  if (reference instanceof tf.Tensor) {
    if (reference.isDisposed) throw new FgvisArgumentError(fn, 'options.reference', 'is a disposed tensor; expected a live (undisposed) tensor');
    if (reference.dtype !== 'float32' && reference.dtype !== 'int32') {
      throw new FgvisArgumentError(fn, 'options.reference', `must be a float32 (or int32) tensor in the model's input space, got dtype ${reference.dtype}`);
    }
    const same3 = reference.rank === 3 && reference.shape.every((d, i) => d === x.shape[i + 1]);
    const same4 = reference.rank === 4 && reference.shape.every((d, i) => d === x.shape[i]);
    if (!same3 && !same4) {
      throw new FgvisArgumentError(fn, 'options.reference', `must have the input's shape [${x.shape.join(',')}] or [${x.shape.slice(1).join(',')}], got [${reference.shape.join(',')}]`);
    }
    return tf.tidy(() => tf.reshape(tf.cast(reference, 'float32'), x.shape) as tf.Tensor4D);
  }
  switch (reference) {
    case 'zero':
      return null;
    case 'mean':
      return tf.tidy(() => tf.mul(tf.mean(x, [1, 2], true), tf.onesLike(x)) as tf.Tensor4D);
    case 'blur': {
      const sigma = options.blurSigma ?? 10;
      if (!(sigma > 0) || !Number.isFinite(sigma)) {
        throw new FgvisArgumentError(fn, 'options.blurSigma', `must be a positive number, got ${describe(sigma)}`);
      }
      return gaussianBlur(x, sigma);
    }
    case 'noise':
      return tf.tidy(() => {
        const { mean, variance } = tf.moments(x, [1, 2], true);
        const z = tf.randomNormal(x.shape, 0, 1, 'float32', options.seed);
        return tf.add(mean, tf.mul(tf.sqrt(variance), z)) as tf.Tensor4D;
      });
    default:
      throw new FgvisArgumentError(fn, 'options.reference', `must be 'zero', 'mean', 'blur', 'noise' or a tensor, got ${describe(reference)}`);
  }
}

/**
 * Separable Gaussian blur of a `[1,H,W,C]` tensor with reflect-free zero
 * padding corrected by the blurred ones image (so borders are not darkened).
 * Returns a new tensor owned by the caller.
 */
export function gaussianBlur(x: tf.Tensor4D, sigma: number): tf.Tensor4D {
  return tf.tidy(() => {
    const channels = x.shape[3];
    const radius = Math.max(1, Math.min(Math.ceil(3 * sigma), Math.floor(Math.max(x.shape[1], x.shape[2]) / 2)));
    const taps: number[] = [];
    for (let i = -radius; i <= radius; i++) taps.push(Math.exp(-(i * i) / (2 * sigma * sigma)));
    const total = taps.reduce((a, b) => a + b, 0);
    const k = taps.map((t) => t / total);
    const size = k.length;
    const kernelRow = tf.tile(tf.reshape(tf.tensor1d(k), [1, size, 1, 1]), [1, 1, channels, 1]) as tf.Tensor4D;
    const kernelCol = tf.tile(tf.reshape(tf.tensor1d(k), [size, 1, 1, 1]), [1, 1, channels, 1]) as tf.Tensor4D;
    const blur = (t: tf.Tensor4D) => tf.depthwiseConv2d(tf.depthwiseConv2d(t, kernelRow, 1, 'same'), kernelCol, 1, 'same');
    return tf.div(blur(x), blur(tf.onesLike(x))) as tf.Tensor4D;
  });
}

/**
 * The explanation `e = m * x + (1 - m) * r`; with `r = null` (the zero
 * reference) exactly `m * x`. Differentiable in `m`. Returns a new tensor.
 */
export function composeExplanation(m: tf.Tensor, x: tf.Tensor, r: tf.Tensor | null): tf.Tensor {
  const fn = 'composeExplanation';
  checkTensor(fn, 'x', x);
  // m and r: x's shape, or broadcast to it along dimensions of size 1.
  for (const [name, t] of [['m', m], ['r', r]] as const) {
    if (name === 'r' && t === null) continue;
    checkTensor(fn, name, t);
    if (t.rank !== x.rank || t.shape.some((d, i) => d !== x.shape[i] && d !== 1)) {
      throw new FgvisArgumentError(fn, name, `must have x's shape [${x.shape.join(',')}] (or 1 along broadcast dimensions), got [${t.shape.join(',')}]`);
    }
  }
  // Written as m*x + (1-m)*r rather than r + m*(x-r): at m = 1 this is exactly x,
  // so a first pass at the starting mask sees the image bit for bit.
  return tf.tidy(() => (r === null ? tf.mul(m, x) : tf.add(tf.mul(m, x), tf.mul(tf.sub(1, m), r))));
}
