/**
 * References (substrates): what a removed value becomes. Shared by FGVis's
 * mask, the baselines (occlusion, Integrated Gradients, Meaningful
 * Perturbation) and the metrics (deletion / insertion).
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError } from './errors';
import { checkLiveTensor, checkOptionsObject } from './validate';
import { seededNormal } from './random';

/** The references made from the image (or zero), by name. */
export const REFERENCE_KINDS = ['zero', 'mean', 'blur', 'noise'] as const;

/**
 * The reference `r` that masked-out values move to.
 * - `'zero'`: zero in the model's input space (the paper's r = 0; black for
 *   the usual [0, 1] or [0, 255] input, grey for a [-1, 1] input);
 * - `'mean'`: the image's per-channel mean;
 * - `'blur'`: the image blurred with a Gaussian (sigma `blurSigma` pixels, default 10);
 * - `'noise'`: Gaussian noise with the image's per-channel mean and standard deviation (`seed`: the same noise for the same seed, on every backend; without one, new noise every time);
 * - a number, or one number per channel: a constant colour in the model's
 *   input space, e.g. the value its input normalisation maps to zero (the
 *   dataset's mean colour: `[0.485, 0.456, 0.406]` for an ImageNet model fed
 *   [0, 1] images);
 * - a tensor with the input's shape (`[H,W,C]` or `[1,H,W,C]`).
 */
export type Reference = (typeof REFERENCE_KINDS)[number] | number | readonly number[] | tf.Tensor;

/**
 * Check a reference option (the tensor's shape and a colour's length are
 * checked against the input by {@link makeReference}). Returns it.
 *
 * @param fn The calling function, for messages.
 * @param argument The option's name, e.g. `'reference'` (reported as `options.reference`).
 */
export function checkReference(fn: string, argument: string, value: unknown): Reference {
  const name = `options.${argument}`;
  if (value instanceof tf.Tensor) {
    if (value.isDisposed) throw new FgvisArgumentError(fn, name, 'is a disposed tensor; expected a live (undisposed) tensor');
    return value;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (Array.isArray(value) && value.length > 0) {
    const bad = value.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    if (bad < 0) return value as number[];
    throw new FgvisArgumentError(fn, name, `must hold finite numbers (a colour, one per channel), got ${describe(value[bad])} at index ${bad}`);
  }
  if ((REFERENCE_KINDS as readonly unknown[]).includes(value)) return value as Reference;
  throw new FgvisArgumentError(fn, name, `must be ${REFERENCE_KINDS.map((k) => `'${k}'`).join(', ')}, a finite number or one per channel, or a tensor, got ${describe(value)}`);
}

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
  checkOptionsObject('makeReference', options, ['blurSigma', 'seed', 'caller']);
  const fn = options.caller ?? 'makeReference';
  checkLiveTensor(fn, 'x', x, 4);
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
  checkReference(fn, 'reference', reference);
  if (typeof reference === 'number' || Array.isArray(reference)) {
    const colour = typeof reference === 'number' ? [reference] : (reference as readonly number[]);
    const C = x.shape[3];
    if (colour.length !== 1 && colour.length !== C) {
      throw new FgvisArgumentError(fn, 'options.reference', `must have one value or one per channel (${C}), got ${colour.length} values`);
    }
    return tf.tidy(() => tf.mul(tf.onesLike(x), tf.reshape(tf.tensor1d(colour as number[]), [1, 1, 1, colour.length])) as tf.Tensor4D);
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
    default: // 'noise'
      return tf.tidy(() => {
        const { mean, variance } = tf.moments(x, [1, 2], true);
        // fgvis's own generator: seed 0 is a seed too (tfjs's random ops would ignore it).
        const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
        const z = tf.tensor(seededNormal(x.size, seed), x.shape, 'float32');
        return tf.add(mean, tf.mul(tf.sqrt(variance), z)) as tf.Tensor4D;
      });
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
