/**
 * Grad-CAM (Selvaraju, Cogswell, Das, Vedantam, Parikh & Batra 2017):
 * channel weights from the gradient of the class score with respect to a
 * convolutional feature map, a weighted sum of the map's channels, ReLU,
 * upsampled to the input.
 *
 * @packageDocumentation
 */
import type { Target } from '../util/input';
import * as tf from '@tensorflow/tfjs-core';
import { withInputGradientKernels } from '../kernels';
import type { DisposableAttribution } from '../util/attribution';
import { describe, FgvisArgumentError, FgvisModelError, gradientError } from '../util/errors';
import { assertGradientsRegistered } from '../util/gradients';
import type { ExplainableModel, GraphModelLike, LayersModelLike } from '../model/adapter';
import {
  checkModelReadOptions,
  checkOptionsObject,
  checkScoreOption,
  classScoreOf,
  MODEL_READ_OPTIONS,
  normalizeByMax,
  prepare,
  resizeBilinear2d,
  type ClassScore,
  type ModelReadOptions,
  type ScoreOption,
} from './common';
import { withDispose } from '../util/attribution';
import { graphFeatureAccess, layersFeatureAccess, splitFeatureAccess, type FeatureAccess, type FeatureSplit } from './features';

/** Options of {@link gradCam}; defaults in {@link GRAD_CAM_DEFAULTS}. */
export interface GradCamOptions extends ModelReadOptions {
  /**
   * The feature map: a layer name (LayersModel) or node name (GraphModel).
   * Default: chosen automatically, the last rank-4 output with more than one
   * spatial position between the input and the output (the last
   * convolutional feature map before global pooling or flattening).
   */
  layer?: string;
  /**
   * For a function model (required there, optional for the others, where it
   * replaces the automatic choice): the model split at its feature map,
   * `features(x) -> [1,h,w,K]` and `head(features) -> [1, classes]` with
   * `head(features(x))` equal to the model's output.
   */
  split?: FeatureSplit;
  /**
   * The class score differentiated; default `'auto'`: the logit when the
   * model outputs logits (the paper's pre-softmax `y^c`), else the
   * log-probability.
   */
  score?: ScoreOption;
}

/** The defaults of {@link gradCam}. */
export const GRAD_CAM_DEFAULTS = {
  score: 'auto',
  scores: 'auto',
} as const satisfies GradCamOptions;

const KNOWN = ['layer', 'split', 'score', ...MODEL_READ_OPTIONS] as const;

/** The result of {@link gradCam}. Owns its tensors until `dispose()`. */
export interface GradCamResult extends DisposableAttribution {
  /** The feature layer or node used (`'split'` for a user split). */
  layer: string;
  /** The class-activation map at the feature map's resolution `[h,w]`, after the ReLU, not normalised. */
  cam: tf.Tensor2D;
  /** The channel weights `alpha_k` (spatial means of the gradient), `[K]`. */
  weights: tf.Tensor1D;
  /** The class score that was differentiated. */
  score: ClassScore;
}

/**
 * Grad-CAM (Selvaraju et al. 2017): with `A` the feature map `[h,w,K]` and
 * `s` the target's class score, `alpha_k = mean_ij d s / d A_ijk`,
 * `cam = ReLU(sum_k alpha_k A_k)`, upsampled bilinearly (half-pixel centres)
 * to the input's `[H,W]` and divided by its maximum (an all-zero map stays
 * zero: no location speaks for the class).
 *
 * @param model A tfjs `GraphModel`, `LayersModel`, or a function model with `options.split`.
 * @param input `[H,W,C]` or `[1,H,W,C]` float32, in the model's input space; never modified or disposed.
 * @param target A class index, or `'top'` for the predicted class.
 * @param options See {@link GradCamOptions}.
 * @returns The attribution; call `dispose()` to free its tensors.
 */
export async function gradCam(
  model: ExplainableModel,
  input: tf.Tensor,
  target: Target = 'top',
  options?: GradCamOptions,
): Promise<GradCamResult> {
  const fn = 'gradCam';
  const o = checkOptionsObject(fn, options, KNOWN);
  const D = GRAD_CAM_DEFAULTS;
  const read = checkModelReadOptions(fn, o);
  const score = checkScoreOption(fn, o.score ?? D.score);
  if (o.layer !== undefined && (typeof o.layer !== 'string' || o.layer.length === 0)) {
    throw new FgvisArgumentError(fn, 'options.layer', `must be a non-empty layer or node name, got ${describe(o.layer)}`);
  }
  const split = o.split;
  if (split !== undefined) {
    if (split === null || typeof split !== 'object' || typeof split.features !== 'function' || typeof split.head !== 'function') {
      throw new FgvisArgumentError(fn, 'options.split', `must be an object { features: (x) => Tensor4D, head: (features) => Tensor }, got ${describe(split)}`);
    }
    if (o.layer !== undefined) throw new FgvisArgumentError(fn, 'options.layer', 'cannot be combined with options.split');
  }
  assertGradientsRegistered(fn);

  const p = await prepare(fn, model, input, target, { ...read, score });
  try {
    const kind = p.scorer.kind;
    let access: FeatureAccess;
    if (split !== undefined) access = splitFeatureAccess(fn, split);
    else if (kind === 'function') {
      throw new FgvisArgumentError(
        fn,
        'options.split',
        'is required for a function model: { features: (x) => Tensor4D [1,h,w,K], head: (features) => Tensor [1, classes] }',
      );
    } else if (kind === 'graph') {
      const g = model as GraphModelLike;
      access = await graphFeatureAccess(fn, g, p.x, read.outputNode ?? g.outputNodes[0]!, o.layer);
    } else {
      access = layersFeatureAccess(fn, model as LayersModelLike, read.outputNode, o.layer);
    }

    const numOutputs = p.scorer.scoreKind === 'sigmoid' || p.scorer.scoreKind === 'sigmoid-logit' ? 1 : p.scorer.numClasses;
    const headScore = (a: tf.Tensor4D): tf.Scalar => {
      const raw = access.head(p.x, a);
      if (raw.rank !== 2 || raw.shape[0] !== 1 || raw.shape[1] !== numOutputs) {
        throw new FgvisModelError(fn, `the model's output from the feature map must have shape [1,${numOutputs}], got [${raw.shape.join(',')}]`);
      }
      return tf.reshape(classScoreOf(raw as tf.Tensor2D, p.scorer.scoreKind, p.target, p.score), []) as tf.Scalar;
    };
    const [H, W] = [p.x.shape[1], p.x.shape[2]];
    const [saliency, cam, weights] = tf.tidy(() => {
      const a = access.features(p.x);
      let grad: tf.Tensor;
      try {
        grad = withInputGradientKernels(() => tf.grad((v: tf.Tensor) => headScore(v as tf.Tensor4D))(a));
      } catch (e) {
        throw gradientError(fn, e);
      }
      const alpha = tf.mean(grad, [0, 1, 2]) as tf.Tensor1D;
      const k = a.shape[3];
      const weighted = tf.reshape(tf.matMul(tf.reshape(a, [-1, k]), tf.reshape(alpha, [k, 1])), [a.shape[1], a.shape[2]]);
      const c = tf.relu(weighted) as tf.Tensor2D;
      const up = tf.relu(resizeBilinear2d(c, H, W)) as tf.Tensor2D;
      return [normalizeByMax(up), c, alpha] as const;
    });
    return withDispose({ saliency, target: p.target, layer: access.layer, cam, weights, score: p.score }, [saliency, cam, weights]);
  } finally {
    p.dispose();
  }
}
