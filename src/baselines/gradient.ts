/**
 * Gradient saliency (Simonyan, Vedaldi & Zisserman 2014, "Deep inside
 * convolutional networks"): the magnitude of the derivative of the class
 * score with respect to each input value.
 *
 * @packageDocumentation
 */
import type { Target } from '../util/input';
import * as tf from '@tensorflow/tfjs-core';
import type { DisposableAttribution } from '../util/attribution';
import { assertGradientsRegistered } from '../util/gradients';
import type { ExplainableModel } from '../model/adapter';
import {
  channelSaliency,
  checkModelReadOptions,
  checkOptionsObject,
  checkScoreOption,
  inputGradient,
  MODEL_READ_OPTIONS,
  oneOf,
  prepare,
  type ChannelReduction,
  type ClassScore,
  type ModelReadOptions,
  type ScoreOption,
} from './common';
import { withDispose } from '../util/attribution';

/** Options of {@link gradientSaliency}; defaults in {@link GRADIENT_SALIENCY_DEFAULTS}. */
export interface GradientSaliencyOptions extends ModelReadOptions {
  /**
   * The class score differentiated; default `'auto'`: the logit when the
   * model outputs logits (the paper's unnormalised class score), else the
   * log-probability (the logit minus the log-sum-exp over classes, the closest
   * quantity a softmax output gives).
   */
  score?: ScoreOption;
  /** Reduction over colour channels of `|gradient|`; default `'max'` (the paper's). */
  channels?: ChannelReduction;
}

/** The defaults of {@link gradientSaliency}. */
export const GRADIENT_SALIENCY_DEFAULTS = {
  score: 'auto',
  channels: 'max',
  scores: 'auto',
} as const satisfies GradientSaliencyOptions;

const KNOWN = ['score', 'channels', ...MODEL_READ_OPTIONS] as const;

/** The result of {@link gradientSaliency}. Owns its tensors until `dispose()`. */
export interface GradientSaliencyResult extends DisposableAttribution {
  /** The raw gradient `d score / d input`, same shape as the input. */
  gradient: tf.Tensor;
  /** The class score that was differentiated. */
  score: ClassScore;
}

/**
 * Gradient saliency (Simonyan et al. 2014): `saliency[i,j] = reduce_c |d s / d x[i,j,c]|`
 * (reduction `max` by default), divided by its maximum so it lies in [0, 1]
 * (an all-zero gradient gives an all-zero map). `s` is the target's class
 * score (see {@link GradientSaliencyOptions.score}).
 *
 * @param model A tfjs `GraphModel`, `LayersModel`, or a function `[1,H,W,C] -> [1, classes]`.
 * @param input `[H,W,C]` or `[1,H,W,C]` float32, in the model's input space; never modified or disposed.
 * @param target A class index, or `'top'` for the predicted class.
 * @param options See {@link GradientSaliencyOptions}.
 * @returns The attribution; call `dispose()` to free its tensors.
 */
export async function gradientSaliency(
  model: ExplainableModel,
  input: tf.Tensor,
  target: Target = 'top',
  options?: GradientSaliencyOptions,
): Promise<GradientSaliencyResult> {
  const fn = 'gradientSaliency';
  const o = checkOptionsObject(fn, options, KNOWN);
  const D = GRADIENT_SALIENCY_DEFAULTS;
  const read = checkModelReadOptions(fn, o);
  const score = checkScoreOption(fn, o.score ?? D.score);
  const channels = oneOf(fn, 'channels', o.channels ?? D.channels, ['max', 'mean'] as const);
  assertGradientsRegistered(fn);
  const p = await prepare(fn, model, input, target, { ...read, score });
  try {
    const [gradient, saliency] = tf.tidy(() => {
      const g = tf.reshape(inputGradient(p, p.x, fn), input.shape);
      return [g, channelSaliency(g, channels)] as const;
    });
    return withDispose({ saliency, target: p.target, gradient, score: p.score }, [saliency, gradient]);
  } finally {
    p.dispose();
  }
}
