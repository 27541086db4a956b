/**
 * Occlusion (Zeiler & Fergus 2014, "Visualizing and understanding
 * convolutional networks"): slide a patch of reference values over the image
 * and record how much the class score drops.
 *
 * @packageDocumentation
 */
import type { Target } from '../util/input';
import * as tf from '@tensorflow/tfjs-core';
import type { DisposableAttribution } from '../util/attribution';
import { describe, FgvisArgumentError, throwIfAborted } from '../util/errors';
import { checkReference, makeReference, type Reference } from '../util/reference';
import type { ExplainableModel } from '../model/adapter';
import { yieldToEventLoop } from '../util/event-loop';
import {
  checkModelReadOptions,
  checkOptionsObject,
  checkScoreOption,
  checkSignal,
  finiteNumber,
  MODEL_READ_OPTIONS,
  positiveInteger,
  prepare,
  usableBatchSize,
  type ClassScore,
  type ModelReadOptions,
  type ScoreOption,
} from './common';
import { withDispose } from '../util/attribution';
import { readScalar } from '../util/read';

/** Options of {@link occlusion}; defaults in {@link OCCLUSION_DEFAULTS}. */
export interface OcclusionOptions extends ModelReadOptions {
  /** Side of the square patch in pixels; default `max(1, round(min(H, W) / 8))`. */
  patchSize?: number;
  /** Step between patch positions; default `max(1, round(patchSize / 2))`. The last row and column of positions are aligned with the image's edge, so every pixel is covered. */
  stride?: number;
  /**
   * What the patch is filled with (see {@link Reference}): `'zero'` (default,
   * zeros in the model's input space), `'mean'`, `'blur'`, `'noise'`, a
   * constant (a number, or one per channel), or a tensor with the input's shape.
   */
  reference?: Reference;
  /** Blur sigma in pixels for `reference: 'blur'`; default 10. */
  blurSigma?: number;
  /** Seed for `reference: 'noise'`; default 0. */
  seed?: number;
  /**
   * The class score whose drop is measured; default `'probability'` (Zeiler
   * & Fergus plot the probability of the correct class). `'auto'` as in `gradientSaliency`.
   */
  score?: ScoreOption;
  /** Occluded images per forward pass; default 16. Falls back to 1 when the model does not handle batches. */
  batchSize?: number;
  /** Aborts between batches: the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * The defaults of {@link occlusion}. `patchSize` and `stride` depend on the
 * input: `patchSize = max(1, round(min(H, W) * patchFraction))`,
 * `stride = max(1, round(patchSize * strideFraction))`.
 */
export const OCCLUSION_DEFAULTS = {
  patchFraction: 1 / 8,
  strideFraction: 1 / 2,
  reference: 'zero',
  blurSigma: 10,
  seed: 0,
  score: 'probability',
  batchSize: 16,
  scores: 'auto',
} as const;

const KNOWN = ['patchSize', 'stride', 'reference', 'blurSigma', 'seed', 'score', 'batchSize', 'signal', ...MODEL_READ_OPTIONS] as const;

/** The result of {@link occlusion}. Owns its tensors until `dispose()`. */
export interface OcclusionResult extends DisposableAttribution {
  /** Per pixel, the mean drop `s(x) - s(occluded)` over the patches covering it, `[H,W]`, signed and unnormalised. */
  scoreDrop: tf.Tensor2D;
  /** The class score on the unoccluded input. */
  imageScore: number;
  /** The patch side used, in pixels. */
  patchSize: number;
  /** The stride used, in pixels. */
  stride: number;
  /** Number of occluded images evaluated. */
  evaluations: number;
  /** The batch size used (1 when the model did not accept batches). */
  batchSize: number;
  /** The class score compared. */
  score: ClassScore;
}

/** Patch start positions along an axis of length `n`: every `stride`, plus one flush with the end. */
function positions(n: number, patch: number, stride: number): number[] {
  const out: number[] = [];
  for (let p = 0; p + patch <= n; p += stride) out.push(p);
  if (out[out.length - 1]! + patch < n) out.push(n - patch);
  return out;
}

/**
 * Occlusion (Zeiler & Fergus 2014): for every position of a square patch,
 * replace the patch by the reference and measure the drop of the target's
 * class score; each pixel's drop is the mean over the patches that cover it.
 * The saliency is the positive part of the drop divided by its maximum (a
 * pixel whose occlusion raises the score gets 0). Occluded images are
 * evaluated in batches.
 *
 * @param model A tfjs `GraphModel`, `LayersModel`, or a function `[1,H,W,C] -> [1, classes]` (batches are used when it handles `[B,H,W,C]`).
 * @param input `[H,W,C]` or `[1,H,W,C]` float32, in the model's input space; never modified or disposed.
 * @param target A class index, or `'top'` for the predicted class.
 * @param options See {@link OcclusionOptions}.
 * @returns The attribution; call `dispose()` to free its tensors.
 */
export async function occlusion(
  model: ExplainableModel,
  input: tf.Tensor,
  target: Target = 'top',
  options?: OcclusionOptions,
): Promise<OcclusionResult> {
  const fn = 'occlusion';
  const o = checkOptionsObject(fn, options, KNOWN);
  const D = OCCLUSION_DEFAULTS;
  const read = checkModelReadOptions(fn, o);
  if (o.patchSize !== undefined) positiveInteger(fn, 'patchSize', o.patchSize);
  if (o.stride !== undefined) positiveInteger(fn, 'stride', o.stride);
  const refOption = checkReference(fn, 'reference', o.reference ?? D.reference);
  const blurSigma = finiteNumber(fn, 'blurSigma', o.blurSigma ?? D.blurSigma, { min: 0, minExclusive: true });
  const seed = finiteNumber(fn, 'seed', o.seed ?? D.seed);
  const score = checkScoreOption(fn, o.score ?? D.score);
  const requestedBatch = positiveInteger(fn, 'batchSize', o.batchSize ?? D.batchSize);
  const signal = checkSignal(fn, o.signal);
  throwIfAborted(signal);

  const p = await prepare(fn, model, input, target, { ...read, score });
  let reference: tf.Tensor4D | null = null;
  try {
    const [, H, W] = p.x.shape;
    const patchSize = o.patchSize ?? Math.max(1, Math.round(Math.min(H, W) * D.patchFraction));
    if (patchSize > Math.min(H, W)) {
      throw new FgvisArgumentError(fn, 'options.patchSize', `must be at most the input's smaller side ${Math.min(H, W)}, got ${describe(patchSize)}`);
    }
    const stride = o.stride ?? Math.max(1, Math.round(patchSize * D.strideFraction));
    reference = makeReference(p.x, refOption, { blurSigma, seed, caller: fn }) ?? tf.zerosLike(p.x);
    const ref = reference;

    const imageScore = await readScalar(p.classScores(p.x));

    const ys = positions(H, patchSize, stride);
    const xs = positions(W, patchSize, stride);
    const patches: Array<[number, number]> = [];
    for (const y of ys) for (const x of xs) patches.push([y, x]);
    const batchSize = Math.min(await usableBatchSize(p, requestedBatch), patches.length);

    const dropSum = new Float64Array(H * W);
    const count = new Float64Array(H * W);
    for (let start = 0; start < patches.length; start += batchSize) {
      throwIfAborted(signal);
      const batch = patches.slice(start, start + batchSize);
      const maskValues = new Float32Array(batch.length * H * W);
      batch.forEach(([y0, x0], b) => {
        for (let y = y0; y < y0 + patchSize; y++) maskValues.fill(1, b * H * W + y * W + x0, b * H * W + y * W + x0 + patchSize);
      });
      const scores = tf.tidy(() => {
        const m = tf.tensor4d(maskValues, [batch.length, H, W, 1]);
        const occluded = tf.add(tf.mul(p.x, tf.sub(1, m)), tf.mul(ref, m)) as tf.Tensor4D;
        return p.classScores(occluded);
      });
      let values: Float32Array;
      try {
        values = (await scores.data()) as Float32Array;
      } finally {
        scores.dispose();
      }
      batch.forEach(([y0, x0], b) => {
        const drop = imageScore - values[b]!;
        for (let y = y0; y < y0 + patchSize; y++) {
          for (let x = x0; x < x0 + patchSize; x++) {
            dropSum[y * W + x] += drop;
            count[y * W + x] += 1;
          }
        }
      });
      if (start + batchSize < patches.length) await yieldToEventLoop();
    }
    throwIfAborted(signal);
    const drop = new Float32Array(H * W);
    let max = 0;
    for (let i = 0; i < drop.length; i++) {
      drop[i] = count[i]! > 0 ? dropSum[i]! / count[i]! : 0;
      if (drop[i]! > max) max = drop[i]!;
    }
    const positive = drop.map((d) => (max > 0 && d > 0 ? d / max : 0));
    const scoreDrop = tf.tensor2d(drop, [H, W]);
    const saliency = tf.tensor2d(positive, [H, W]);
    return withDispose(
      { saliency, target: p.target, scoreDrop, imageScore, patchSize, stride, evaluations: patches.length, batchSize, score: p.score },
      [saliency, scoreDrop],
    );
  } finally {
    reference?.dispose();
    p.dispose();
  }
}
