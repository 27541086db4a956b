/**
 * Integrated Gradients (Sundararajan, Taly & Yan 2017, "Axiomatic attribution
 * for deep networks"): the gradient integrated along the straight path from a
 * baseline to the input, times the input's difference from the baseline.
 *
 * @packageDocumentation
 */
import type { Target } from '../util/input';
import * as tf from '@tensorflow/tfjs-core';
import type { DisposableAttribution } from '../util/attribution';
import { FgvisArgumentError, throwIfAborted } from '../util/errors';
import { assertGradientsRegistered } from '../util/gradients';
import { checkReference, makeReference, type Reference } from '../util/reference';
import type { ExplainableModel } from '../model/adapter';
import { yieldToEventLoop } from '../util/event-loop';
import {
  channelSaliency,
  checkModelReadOptions,
  checkOptionsObject,
  checkScoreOption,
  checkSignal,
  finiteNumber,
  inputGradient,
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
 * The quadrature rule for the path integral over alpha in [0, 1]:
 * - `'midpoint'` (default): the Riemann midpoint rule, `m` gradients at
 *   `alpha = (k + 0.5) / m`; error O(1/m^2) for a smooth path, never
 *   evaluates the baseline itself;
 * - `'trapezoid'`: `m + 1` gradients at `alpha = k / m`, end points weighted 1/2.
 */
export type IntegrationRule = 'midpoint' | 'trapezoid';

/** Options of {@link integratedGradients}; defaults in {@link INTEGRATED_GRADIENTS_DEFAULTS}. */
export interface IntegratedGradientsOptions extends ModelReadOptions {
  /** The path's start: `'zero'` (default, zeros in the model's input space), `'mean'`, `'blur'`, `'noise'` or a tensor (see `Reference`). */
  baseline?: Reference;
  /** Blur sigma in pixels for `baseline: 'blur'`; default 10. */
  blurSigma?: number;
  /** Seed for `baseline: 'noise'`; default 0. */
  seed?: number;
  /** Number of intervals m; default 32. */
  steps?: number;
  /** See {@link IntegrationRule}; default `'midpoint'`. */
  rule?: IntegrationRule;
  /** The class score integrated; default `'auto'` (as in `gradientSaliency`). */
  score?: ScoreOption;
  /** Reduction over colour channels of `|attribution|`; default `'mean'` (proportional to the channel sum). */
  channels?: ChannelReduction;
  /** Path points per gradient pass; default 1. Falls back to 1 when the model does not handle batches. */
  batchSize?: number;
  /** Aborts between batches: the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The defaults of {@link integratedGradients}. */
export const INTEGRATED_GRADIENTS_DEFAULTS = {
  baseline: 'zero',
  blurSigma: 10,
  seed: 0,
  steps: 32,
  rule: 'midpoint',
  score: 'auto',
  channels: 'mean',
  batchSize: 1,
  scores: 'auto',
} as const satisfies IntegratedGradientsOptions;

const KNOWN = [
  'baseline', 'blurSigma', 'seed', 'steps', 'rule', 'score', 'channels', 'batchSize', 'signal', ...MODEL_READ_OPTIONS,
] as const;

/** How well the attributions add up (the completeness axiom): `sum(attributions) = f(x) - f(baseline)`. */
export interface Completeness {
  /** The class score on the input, f(x). */
  inputScore: number;
  /** The class score on the baseline, f(x'). */
  baselineScore: number;
  /** f(x) - f(x'). */
  scoreDifference: number;
  /** The sum of all attributions. */
  attributionSum: number;
  /** `attributionSum - scoreDifference` (the quadrature error). */
  gap: number;
  /** `|gap| / |scoreDifference|` (Infinity when the difference is 0 and the gap is not). */
  relativeGap: number;
}

/** The result of {@link integratedGradients}. Owns its tensors until `dispose()`. */
export interface IntegratedGradientsResult extends DisposableAttribution {
  /** The signed per-value attributions `(x - x') * mean gradient`, same shape as the input. */
  attributions: tf.Tensor;
  /** The completeness check. */
  completeness: Completeness;
  /** The class score that was integrated. */
  score: ClassScore;
  /** The batch size used (1 when the model did not accept batches). */
  batchSize: number;
}

/**
 * Integrated Gradients (Sundararajan et al. 2017):
 * `a = (x - x') * integral_0^1 d s / d x (x' + alpha (x - x')) d alpha`, the
 * integral approximated with `steps` intervals (see {@link IntegrationRule}).
 * The saliency is `|a|` reduced over channels (mean by default) and divided
 * by its maximum. The result also holds the signed attributions and the
 * completeness check `sum(a)` against `s(x) - s(x')`.
 *
 * @param model A tfjs `GraphModel`, `LayersModel`, or a function `[1,H,W,C] -> [1, classes]`.
 * @param input `[H,W,C]` or `[1,H,W,C]` float32, in the model's input space; never modified or disposed.
 * @param target A class index, or `'top'` for the predicted class.
 * @param options See {@link IntegratedGradientsOptions}.
 * @returns The attribution; call `dispose()` to free its tensors.
 */
export async function integratedGradients(
  model: ExplainableModel,
  input: tf.Tensor,
  target: Target = 'top',
  options?: IntegratedGradientsOptions,
): Promise<IntegratedGradientsResult> {
  const fn = 'integratedGradients';
  const o = checkOptionsObject(fn, options, KNOWN);
  const D = INTEGRATED_GRADIENTS_DEFAULTS;
  const read = checkModelReadOptions(fn, o);
  const baselineOption = checkReference(fn, 'baseline', o.baseline ?? D.baseline);
  const blurSigma = finiteNumber(fn, 'blurSigma', o.blurSigma ?? D.blurSigma, { min: 0, minExclusive: true });
  const seed = finiteNumber(fn, 'seed', o.seed ?? D.seed);
  const steps = positiveInteger(fn, 'steps', o.steps ?? D.steps);
  const rule = oneOf(fn, 'rule', o.rule ?? D.rule, ['midpoint', 'trapezoid'] as const);
  const score = checkScoreOption(fn, o.score ?? D.score);
  const channels = oneOf(fn, 'channels', o.channels ?? D.channels, ['max', 'mean'] as const);
  const requestedBatch = positiveInteger(fn, 'batchSize', o.batchSize ?? D.batchSize);
  const signal = checkSignal(fn, o.signal);
  throwIfAborted(signal);
  assertGradientsRegistered(fn);

  const p = await prepare(fn, model, input, target, { ...read, score });
  let baseline: tf.Tensor4D | null = null;
  let sum: tf.Tensor4D | null = null;
  let created: tf.Tensor[] = [];
  try {
    let ref: tf.Tensor4D | null;
    try {
      ref = makeReference(p.x, baselineOption, { blurSigma, seed, caller: fn });
    } catch (e) {
      // makeReference names its argument options.reference; here it is options.baseline.
      if (e instanceof FgvisArgumentError && e.argument === 'options.reference') {
        throw new FgvisArgumentError(fn, 'options.baseline', e.message.replace(/^Error in \S+: options\.reference /, ''));
      }
      throw e;
    }
    baseline = ref ?? tf.zerosLike(p.x);
    const base = baseline;
    // Quadrature nodes and weights.
    const alphas: number[] = [];
    const weights: number[] = [];
    if (rule === 'midpoint') {
      for (let k = 0; k < steps; k++) {
        alphas.push((k + 0.5) / steps);
        weights.push(1 / steps);
      }
    } else {
      for (let k = 0; k <= steps; k++) {
        alphas.push(k / steps);
        weights.push(k === 0 || k === steps ? 0.5 / steps : 1 / steps);
      }
    }
    const batchSize = Math.min(await usableBatchSize(p, requestedBatch), alphas.length);
    for (let start = 0; start < alphas.length; start += batchSize) {
      throwIfAborted(signal);
      const end = Math.min(start + batchSize, alphas.length);
      const next: tf.Tensor4D = tf.tidy(() => {
        const a = tf.tensor4d(alphas.slice(start, end), [end - start, 1, 1, 1]);
        const w = tf.tensor4d(weights.slice(start, end), [end - start, 1, 1, 1]);
        const xs = tf.add(base, tf.mul(a, tf.sub(p.x, base))) as tf.Tensor4D;
        const g = inputGradient(p, xs, fn);
        const part = tf.sum(tf.mul(g, w), 0, true) as tf.Tensor4D;
        return sum === null ? part : (tf.add(sum, part) as tf.Tensor4D);
      });
      sum?.dispose();
      sum = next;
      if (end < alphas.length) await yieldToEventLoop();
    }
    throwIfAborted(signal);
    const avgGrad = sum!;
    const [attributions, saliency, scalars] = tf.tidy(() => {
      const a = tf.mul(tf.sub(p.x, base), avgGrad);
      const endpoints = tf.concat([p.classScores(p.x), p.classScores(base)]);
      return [tf.reshape(a, input.shape), channelSaliency(a, channels), tf.concat([endpoints, tf.reshape(tf.sum(a), [1])])] as const;
    });
    created = [attributions, saliency];
    let values: Float32Array;
    try {
      values = (await scalars.data()) as Float32Array;
    } finally {
      scalars.dispose();
    }
    const [inputScore, baselineScore, attributionSum] = Array.from(values) as [number, number, number];
    const scoreDifference = inputScore - baselineScore;
    const gap = attributionSum - scoreDifference;
    const relativeGap = gap === 0 ? 0 : Math.abs(scoreDifference) > 0 ? Math.abs(gap) / Math.abs(scoreDifference) : Infinity;
    const completeness: Completeness = { inputScore, baselineScore, scoreDifference, attributionSum, gap, relativeGap };
    const out = withDispose({ saliency, target: p.target, attributions, completeness, score: p.score, batchSize }, created);
    created = [];
    return out;
  } finally {
    tf.dispose(created);
    sum?.dispose();
    baseline?.dispose();
    p.dispose();
  }
}
