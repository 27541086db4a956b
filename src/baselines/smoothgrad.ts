/**
 * SmoothGrad (Smilkov, Thorat, Kim, Viégas & Wattenberg 2017): the gradient
 * averaged over noisy copies of the input.
 *
 * @packageDocumentation
 */
import type { Target } from '../util/input';
import * as tf from '@tensorflow/tfjs-core';
import type { DisposableAttribution } from '../util/attribution';
import { throwIfAborted } from '../util/errors';
import { assertGradientsRegistered } from '../util/gradients';
import type { ExplainableModel } from '../model/adapter';
import { yieldToEventLoop } from '../util/event-loop';
import {
  channelSaliency,
  checkModelReadOptions,
  checkOptionsObject,
  checkSignal,
  checkScoreOption,
  finiteNumber,
  inputGradient,
  mixSeed,
  MODEL_READ_OPTIONS,
  oneOf,
  positiveInteger,
  prepare,
  usableBatchSize,
  type ChannelReduction,
  type ClassScore,
  type ModelReadOptions,
  type ScoreOption,
} from './common';
import { withDispose } from '../util/attribution';

/**
 * How the per-sample gradients are combined:
 * - `'mean'` (the paper's formula): the mean of the signed gradients; the
 *   saliency then takes absolute values;
 * - `'mean-abs'`: the mean of absolute gradients;
 * - `'mean-square'`: the mean of squared gradients ("SmoothGrad-Squared", Hooker et al. 2019).
 */
export type SmoothGradAggregate = 'mean' | 'mean-abs' | 'mean-square';

/** Options of {@link smoothGrad}; defaults in {@link SMOOTH_GRAD_DEFAULTS}. */
export interface SmoothGradOptions extends ModelReadOptions {
  /** Number of noisy copies n; default 25. */
  samples?: number;
  /**
   * Noise standard deviation as a fraction of the input's range
   * `max(x) - min(x)`; default 0.15 (the paper's 10-20 %). 0 gives plain
   * gradient saliency.
   */
  noise?: number;
  /**
   * Seed of the noise; default 0, so that results are reproducible. Sample
   * `i` draws from a seed mixed from `seed` and `i`, so the result does not
   * depend on `batchSize`.
   */
  seed?: number;
  /** See {@link SmoothGradAggregate}; default `'mean'`. */
  aggregate?: SmoothGradAggregate;
  /** The class score differentiated; default `'auto'` (as in `gradientSaliency`). */
  score?: ScoreOption;
  /** Reduction over colour channels; default `'max'` (as in `gradientSaliency`). */
  channels?: ChannelReduction;
  /** Noisy copies per gradient pass; default 1. Falls back to 1 when the model does not handle batches. */
  batchSize?: number;
  /** Aborts between batches: the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The defaults of {@link smoothGrad}. */
export const SMOOTH_GRAD_DEFAULTS = {
  samples: 25,
  noise: 0.15,
  seed: 0,
  aggregate: 'mean',
  score: 'auto',
  channels: 'max',
  batchSize: 1,
  scores: 'auto',
} as const satisfies SmoothGradOptions;

const KNOWN = ['samples', 'noise', 'seed', 'aggregate', 'score', 'channels', 'batchSize', 'signal', ...MODEL_READ_OPTIONS] as const;

/** The result of {@link smoothGrad}. Owns its tensors until `dispose()`. */
export interface SmoothGradResult extends DisposableAttribution {
  /** The aggregated gradient (see {@link SmoothGradAggregate}), same shape as the input. */
  gradient: tf.Tensor;
  /** The class score that was differentiated. */
  score: ClassScore;
  /** The noise standard deviation used, in input units. */
  sigma: number;
  /** The batch size used (1 when the model did not accept batches). */
  batchSize: number;
}

/**
 * SmoothGrad (Smilkov et al. 2017): `g = 1/n sum_i d s / d x (x + N(0, sigma^2))`
 * with `sigma = noise * (max(x) - min(x))`, then reduced to a `[H,W]`
 * saliency exactly like `gradientSaliency` (`|g|`, max over channels, divided
 * by the maximum). With `noise: 0` it equals `gradientSaliency`.
 *
 * @param model A tfjs `GraphModel`, `LayersModel`, or a function `[1,H,W,C] -> [1, classes]`.
 * @param input `[H,W,C]` or `[1,H,W,C]` float32, in the model's input space; never modified or disposed.
 * @param target A class index, or `'top'` for the predicted class.
 * @param options See {@link SmoothGradOptions}.
 * @returns The attribution; call `dispose()` to free its tensors.
 */
export async function smoothGrad(
  model: ExplainableModel,
  input: tf.Tensor,
  target: Target = 'top',
  options?: SmoothGradOptions,
): Promise<SmoothGradResult> {
  const fn = 'smoothGrad';
  const o = checkOptionsObject(fn, options, KNOWN);
  const D = SMOOTH_GRAD_DEFAULTS;
  const read = checkModelReadOptions(fn, o);
  const samples = positiveInteger(fn, 'samples', o.samples ?? D.samples);
  const noise = finiteNumber(fn, 'noise', o.noise ?? D.noise, { min: 0 });
  const seed = finiteNumber(fn, 'seed', o.seed ?? D.seed);
  const aggregate = oneOf(fn, 'aggregate', o.aggregate ?? D.aggregate, ['mean', 'mean-abs', 'mean-square'] as const);
  const score = checkScoreOption(fn, o.score ?? D.score);
  const channels = oneOf(fn, 'channels', o.channels ?? D.channels, ['max', 'mean'] as const);
  const requestedBatch = positiveInteger(fn, 'batchSize', o.batchSize ?? D.batchSize);
  const signal = checkSignal(fn, o.signal);
  throwIfAborted(signal);
  assertGradientsRegistered(fn);

  const p = await prepare(fn, model, input, target, { ...read, score });
  let sum: tf.Tensor4D | null = null;
  let sigmaT: tf.Scalar | null = null;
  try {
    const batchSize = Math.min(await usableBatchSize(p, requestedBatch), samples);
    sigmaT = tf.tidy(() => tf.mul(tf.sub(tf.max(p.x), tf.min(p.x)), noise) as tf.Scalar);
    const sigma = (await sigmaT.data())[0]!;
    const shape = p.x.shape;
    for (let start = 0; start < samples; start += batchSize) {
      throwIfAborted(signal);
      const b = Math.min(batchSize, samples - start);
      const next: tf.Tensor4D = tf.tidy(() => {
        const noises = [];
        for (let i = start; i < start + b; i++) noises.push(tf.randomNormal(shape, 0, 1, 'float32', mixSeed(seed, i)));
        const xs = tf.add(p.x, tf.mul(sigmaT!, tf.concat(noises, 0))) as tf.Tensor4D;
        const g = inputGradient(p, xs, fn);
        const term = aggregate === 'mean' ? g : aggregate === 'mean-abs' ? tf.abs(g) : tf.square(g);
        const batchSum = tf.sum(term, 0, true) as tf.Tensor4D;
        return sum === null ? batchSum : (tf.add(sum, batchSum) as tf.Tensor4D);
      });
      sum?.dispose();
      sum = next;
      if (start + b < samples) await yieldToEventLoop();
    }
    throwIfAborted(signal);
    const total = sum!;
    const [gradient, saliency] = tf.tidy(() => {
      const g = tf.reshape(tf.div(total, samples), input.shape);
      return [g, channelSaliency(g, channels)] as const;
    });
    return withDispose({ saliency, target: p.target, gradient, score: p.score, sigma, batchSize }, [saliency, gradient]);
  } finally {
    sum?.dispose();
    sigmaT?.dispose();
    p.dispose();
  }
}
