/**
 * What the baselines share: option checks, the prepared model (validated
 * input, adapted model, resolved target, a batched forward pass and the class
 * score each method differentiates), input gradients, and the reduction of a
 * per-channel map to a `[H,W]` saliency in [0, 1].
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError, gradientError } from '../util/errors';
import { checkInput, checkLabels, checkTarget } from '../util/input';
import { modelLabels } from '../model/labels';
import { withInputGradientKernels } from '../kernels';
import {
  adaptModel,
  type ExplainableModel,
  type ScoreKind,
  type ScoreModel,
  type ScoresOption,
} from '../model/adapter';
import { oneOf } from '../util/validate';

/**
 * The class score a baseline differentiates or compares:
 * - `'logit'`: the unnormalised score before the softmax (Simonyan 2014's and
 *   Selvaraju 2017's choice); only for models whose output is read as logits
 *   (for a single sigmoid logit `z`: `z` for class 1, `-z` for class 0);
 * - `'log-probability'`: the log of the softmax probability (differs from the
 *   logit by the log-sum-exp over classes);
 * - `'probability'`: the softmax probability.
 */
export type ClassScore = 'logit' | 'log-probability' | 'probability';

/** A {@link ClassScore}, or `'auto'`: `'logit'` when the model outputs logits, else `'log-probability'`. */
export type ScoreOption = 'auto' | ClassScore;

/** How a per-channel map becomes one value per pixel: the maximum or the mean over channels (of absolute values). */
export type ChannelReduction = 'max' | 'mean';

/** Options every baseline accepts: how the model's output is read. */
export interface ModelReadOptions {
  /** How to read the model's output (`'auto'`, `'probabilities'`, `'logits'`); default `'auto'` (see `adaptModel`). */
  scores?: ScoresOption;
  /** Output node (GraphModel) or output name (LayersModel) for models with several outputs. */
  outputNode?: string;
  /** The model's class names in output order, so that the target may be a class name; default: the names the model carries (`withLabels`). */
  labels?: readonly string[];
}

/** Option names of {@link ModelReadOptions}. */
export const MODEL_READ_OPTIONS = ['scores', 'outputNode', 'labels'] as const;

// ---------------------------------------------------------------------------
// Option checks

export { checkOptionsObject, finiteNumber, oneOf, positiveInteger } from '../util/validate';

/** Validate the model-reading options (`scores`, `outputNode`). */
export function checkModelReadOptions(fn: string, o: ModelReadOptions): Required<Pick<ModelReadOptions, 'scores'>> & ModelReadOptions {
  const scores = oneOf(fn, 'scores', o.scores ?? 'auto', ['auto', 'probabilities', 'logits'] as const);
  if (o.outputNode !== undefined && (typeof o.outputNode !== 'string' || o.outputNode.length === 0)) {
    throw new FgvisArgumentError(fn, 'options.outputNode', `must be a non-empty string, got ${describe(o.outputNode)}`);
  }
  const labels = o.labels === undefined ? undefined : checkLabels(fn, o.labels);
  return { scores, outputNode: o.outputNode, labels };
}

/** Validate a `signal` option (an `AbortSignal` or undefined). */
export function checkSignal(fn: string, signal: unknown): AbortSignal | undefined {
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof (signal as AbortSignal).aborted !== 'boolean')) {
    throw new FgvisArgumentError(fn, 'options.signal', `must be an AbortSignal, got ${describe(signal)}`);
  }
  return signal as AbortSignal | undefined;
}

/** Validate a `score` option. */
export function checkScoreOption(fn: string, value: unknown): ScoreOption {
  return oneOf(fn, 'score', value, ['auto', 'logit', 'log-probability', 'probability'] as const);
}

// ---------------------------------------------------------------------------
// The prepared model

/** Smallest probability inside a logarithm (as in the model adapter). */
const LOG_FLOOR = 1e-30;

/** Resolve `'auto'` for a model whose output is read as `kind`, and reject `'logit'` where there is none. */
export function resolveClassScore(fn: string, option: ScoreOption, kind: ScoreKind): ClassScore {
  const hasLogits = kind === 'logits' || kind === 'sigmoid-logit';
  if (option === 'auto') return hasLogits ? 'logit' : 'log-probability';
  if (option === 'logit' && !hasLogits) {
    throw new FgvisArgumentError(
      fn,
      'options.score',
      `is 'logit' but the model's output is read as ${kind}; logits are not available ` +
        "(use 'log-probability' or 'probability', or options.scores: 'logits' if the output really is logits)",
    );
  }
  return option;
}

/**
 * The class score `[B]` of class `c` from a raw model output `[B, K]` read as
 * `kind` (differentiable; `slice`, not `gather`).
 */
export function classScoreOf(raw: tf.Tensor2D, kind: ScoreKind, c: number, score: ClassScore): tf.Tensor1D {
  return tf.tidy(() => {
    const b = raw.shape[0];
    let row: tf.Tensor2D;
    if (score === 'logit') {
      if (kind === 'sigmoid-logit') row = tf.concat([tf.neg(raw), raw], 1);
      else row = raw;
    } else {
      let logp: tf.Tensor2D;
      switch (kind) {
        case 'probabilities':
          logp = score === 'probability' ? raw : (tf.log(tf.maximum(raw, LOG_FLOOR)) as tf.Tensor2D);
          break;
        case 'logits':
          logp = score === 'probability' ? tf.softmax(raw) : tf.logSoftmax(raw);
          break;
        case 'sigmoid': {
          const p = tf.concat([tf.sub(1, raw), raw], 1) as tf.Tensor2D;
          logp = score === 'probability' ? p : (tf.log(tf.maximum(p, LOG_FLOOR)) as tf.Tensor2D);
          break;
        }
        case 'sigmoid-logit': {
          const p = tf.sigmoid(tf.concat([tf.neg(raw), raw], 1)) as tf.Tensor2D;
          logp = score === 'probability' ? p : (tf.log(tf.maximum(p, LOG_FLOOR)) as tf.Tensor2D);
          break;
        }
      }
      row = logp;
    }
    return tf.reshape(tf.slice(row, [0, c], [b, 1]), [b]) as tf.Tensor1D;
  });
}

/** A validated input, an adapted model and a resolved target, ready for a baseline. */
export interface Prepared {
  /** The input as `[1,H,W,C]` (a reshape of the user's tensor; owned, freed by {@link Prepared.dispose}). */
  readonly x: tf.Tensor4D;
  /** The adapted model (batch 1). */
  readonly scorer: ScoreModel;
  /** The resolved target class. */
  readonly target: number;
  /** The class score in use. */
  readonly score: ClassScore;
  /** The model's class probabilities on the input. */
  readonly probs: Float32Array;
  /** The raw model output `[B, K]` for a batch `[B,H,W,C]` (B = 1 goes through the adapter). New tensor. */
  forward(xs: tf.Tensor4D): tf.Tensor2D;
  /** The target's class score `[B]` for a batch. New tensor, differentiable. */
  classScores(xs: tf.Tensor4D): tf.Tensor1D;
  /** Free {@link Prepared.x}. Idempotent. */
  dispose(): void;
}

/** Options of {@link prepare}. */
export interface PrepareOptions extends ModelReadOptions {
  /** The class score to use; `'auto'` resolves by the model's output kind. */
  score: ScoreOption;
}

/**
 * Validate input, model and target for baseline `fn`: returns the prepared
 * model, or throws (leaving nothing behind). The user's input is not touched.
 */
export async function prepare(
  fn: string,
  model: ExplainableModel,
  input: unknown,
  target: unknown,
  options: PrepareOptions,
): Promise<Prepared> {
  const x = await checkInput(input, fn);
  try {
    const scorer = await adaptModel(model, x, { scores: options.scores, outputNode: options.outputNode, caller: fn });
    const score = resolveClassScore(fn, options.score, scorer.scoreKind);
    const p = tf.tidy(() => scorer.probs(x));
    let probs: Float32Array;
    try {
      probs = Float32Array.from(await p.data());
    } finally {
      p.dispose();
    }
    const c = checkTarget(target, probs, fn, options.labels ?? modelLabels(model));
    const forward = (xs: tf.Tensor4D): tf.Tensor2D => scorer.raw(xs);
    let disposed = false;
    return {
      x,
      scorer,
      target: c,
      score,
      probs,
      forward,
      classScores: (xs) => tf.tidy(() => classScoreOf(forward(xs), scorer.scoreKind, c, score)),
      dispose() {
        if (disposed) return;
        disposed = true;
        x.dispose();
      },
    };
  } catch (e) {
    x.dispose();
    throw e;
  }
}

/**
 * The largest batch size up to `requested` that the model handles correctly:
 * `requested` when a batch of two distinct images (the input and its mirror
 * image) gives the same outputs as two single passes, else 1 (a model with a
 * fixed batch dimension, or a function written for `[1,H,W,C]`).
 */
export async function usableBatchSize(p: Prepared, requested: number): Promise<number> {
  if (requested <= 1) return 1;
  let both: tf.Tensor | null = null;
  try {
    both = tf.tidy(() => {
      const a = p.x;
      const b = tf.reverse(p.x, 2) as tf.Tensor4D;
      const batch = p.forward(tf.concat([a, b], 0) as tf.Tensor4D);
      const single = tf.concat([p.forward(a), p.forward(b)], 0);
      return tf.stack([batch, single]);
    });
    const v = await both.data();
    const half = v.length / 2;
    for (let i = 0; i < half; i++) {
      const u = v[i]!;
      const w = v[i + half]!;
      if (!Number.isFinite(u) || Math.abs(u - w) > 1e-4 * (1 + Math.abs(w))) return 1;
    }
    return requested;
  } catch {
    return 1;
  } finally {
    both?.dispose();
  }
}

/**
 * Gradient of the sum over the batch of the target's class scores with
 * respect to the batch `xs` `[B,H,W,C]` (each row gets its own gradient),
 * computed with fgvis's input-gradient kernels. New tensor.
 */
export function inputGradient(p: Prepared, xs: tf.Tensor4D, fn = 'inputGradient'): tf.Tensor4D {
  try {
    return withInputGradientKernels(() => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(p.classScores(v as tf.Tensor4D)))(xs) as tf.Tensor4D));
  } catch (e) {
    throw gradientError(fn, e);
  }
}

// ---------------------------------------------------------------------------
// Saliency maps

/** Divide a non-negative map by its maximum (an all-zero map stays zero). New tensor. */
export function normalizeByMax<T extends tf.Tensor>(t: T): T {
  return tf.tidy(() => tf.div(t, tf.maximum(tf.max(t), 1e-30)) as T);
}

/**
 * `[1,H,W,C]` (or `[H,W,C]`) per-channel attributions to a `[H,W]` saliency in
 * [0, 1]: absolute values, reduced over channels (`max` or `mean`), divided
 * by the map's maximum. New tensor.
 */
export function channelSaliency(map: tf.Tensor, channels: ChannelReduction): tf.Tensor2D {
  return tf.tidy(() => {
    const [h, w, c] = map.shape.slice(-3) as [number, number, number];
    const a = tf.abs(tf.reshape(map, [h, w, c]));
    const reduced = channels === 'max' ? tf.max(a, 2) : tf.mean(a, 2);
    return normalizeByMax(reduced) as tf.Tensor2D;
  });
}

/**
 * The `[outSize, inSize]` matrix of bilinear interpolation with half-pixel
 * centres (pixel `i` of the output samples the input at
 * `(i + 0.5) * inSize / outSize - 0.5`, clamped to the edge), as used by
 * `tf.image.resizeBilinear(..., halfPixelCenters = true)`. Rows sum to 1.
 * Resizing with two matrix products works (and differentiates) on every backend.
 */
export function bilinearMatrix(outSize: number, inSize: number): tf.Tensor2D {
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const s = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), inSize - 1);
    const i0 = Math.floor(s);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const f = s - i0;
    m[i * inSize + i0]! += 1 - f;
    m[i * inSize + i1]! += f;
  }
  return tf.tensor2d(m, [outSize, inSize]);
}

/** Resize a `[h,w]` map to `[H,W]` bilinearly (half-pixel centres), differentiably. New tensor. */
export function resizeBilinear2d(map: tf.Tensor2D, height: number, width: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [h, w] = map.shape;
    if (h === height && w === width) return tf.clone(map);
    const ry = bilinearMatrix(height, h);
    const rx = bilinearMatrix(width, w);
    return tf.matMul(tf.matMul(ry, map), rx, false, true);
  });
}



/** A 32-bit mix of a seed and an index (distinct per-sample seeds that do not overlap between nearby seeds). */
export function mixSeed(seed: number, index: number): number {
  let h = (Math.imul(Math.floor(seed) | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
