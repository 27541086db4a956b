/**
 * Deletion and insertion curves and their areas (RISE, Petsiuk, Das & Saenko,
 * BMVC 2018). Deletion removes the pixels a saliency map ranks most important
 * first and watches the target's probability fall (lower area = better map);
 * insertion starts from an image with no information and puts the most
 * important pixels back first (higher area = better map).
 *
 * @packageDocumentation
 */
import type { Target } from '../util/input';
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError, throwIfAborted } from '../util/errors';
import { seededRandom } from '../util/random';
import { makeReference, type Reference } from '../util/reference';
import type { ExplainableModel, ScoresOption } from '../model/adapter';
import { modelLabels } from '../model/labels';
import { BatchScorer, checkImage, checkOptionsObject, oneOf, positiveInteger, probsOf, readSaliency, resolveTarget } from './common';

/** Which curves {@link deletionInsertion} computes. */
export type DeletionInsertionMode = 'both' | 'deletion' | 'insertion';

/** Options of {@link deletionInsertion}; defaults in {@link DELETION_INSERTION_DEFAULTS}. */
export interface DeletionInsertionOptions {
  /** `'both'` (default), `'deletion'` or `'insertion'`. */
  mode?: DeletionInsertionMode;
  /**
   * Number of equal chunks the pixels are removed / inserted in; the curve has
   * `steps + 1` points (fractions `0, 1/steps, ..., 1`). Default 32. Capped at
   * `H * W` (one pixel per step). RISE used `H*W / 224` pixels per step
   * (224 steps at 224x224); pass `steps: 224` to match it.
   */
  steps?: number;
  /**
   * What deleted pixels become: `'zero'` (default: zero in the model's input
   * space, RISE's black image and FGVis's reference), `'mean'`, `'blur'`,
   * `'noise'` or a tensor with the input's shape.
   */
  deletionSubstrate?: Reference;
  /**
   * What the insertion starts from: default `'blur'` (the image blurred with a
   * Gaussian of sigma `blurSigma`, as RISE), or any other reference.
   */
  insertionSubstrate?: Reference;
  /** Sigma in pixels of the `'blur'` substrates; default 5. */
  blurSigma?: number;
  /** Seed of the `'noise'` substrate and of the order of ties (`ties: 'random'`); default 0. */
  seed?: number;
  /**
   * The order of pixels with equal saliency: `'random'` (default: a seeded
   * shuffle, so that a map that ranks only some pixels, such as a sparse
   * mask with many zeros, has the rest moved in no particular place) or
   * `'raster'` (row-major order, as an index-stable sort gives: the unranked
   * rest is then removed from the top of the image down).
   */
  ties?: 'random' | 'raster';
  /** Largest number of perturbed images per forward pass; default 8 (1 disables batching). */
  batchSize?: number;
  /** How to read the model's output; default `'auto'`. */
  scores?: ScoresOption;
  /** Output node / name for models with several outputs. */
  outputNode?: string;
  /** Abort between forward passes: the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** The defaults of {@link deletionInsertion}, in one place. */
export const DELETION_INSERTION_DEFAULTS = {
  mode: 'both',
  steps: 32,
  deletionSubstrate: 'zero',
  insertionSubstrate: 'blur',
  blurSigma: 5,
  seed: 0,
  ties: 'random',
  batchSize: 8,
  scores: 'auto',
} as const;

const KNOWN = [
  'mode', 'steps', 'deletionSubstrate', 'insertionSubstrate', 'blurSigma', 'seed', 'ties', 'batchSize', 'scores', 'outputNode', 'signal',
] as const;

/** One curve: the target's probability against the fraction of pixels deleted / inserted. */
export interface PerturbationCurve {
  /** Area under the curve over the fraction axis [0, 1], by the trapezoid rule. */
  auc: number;
  /** The target's probability after each step; `curve[0]` before any pixel moved. */
  curve: number[];
  /** Fraction of pixels deleted / inserted at each point (`0 ... 1`). */
  fractions: number[];
}

/** The result of {@link deletionInsertion}. */
export interface DeletionInsertionResult {
  /** The class measured (resolved from `'top'`). */
  target: number;
  /** The deletion curve (absent with `mode: 'insertion'`). Lower AUC = better saliency. */
  deletion?: PerturbationCurve;
  /** The insertion curve (absent with `mode: 'deletion'`). Higher AUC = better saliency. */
  insertion?: PerturbationCurve;
}

/**
 * Area under a curve by the trapezoid rule: `sum_k (x[k+1] - x[k]) (y[k] + y[k+1]) / 2`.
 * With `x` omitted the points are equally spaced on [0, 1].
 *
 * @param y Curve values (at least 2).
 * @param x Increasing abscissae of the same length; default `k / (n - 1)`.
 */
export function trapezoidAuc(y: ArrayLike<number>, x?: ArrayLike<number>): number {
  const fn = 'trapezoidAuc';
  if (y === null || typeof y !== 'object' || typeof y.length !== 'number' || y.length < 2) {
    throw new FgvisArgumentError(fn, 'y', `must be an array of at least 2 numbers, got ${describe(y)}`);
  }
  const n = y.length;
  for (let i = 0; i < n; i++) {
    if (typeof y[i] !== 'number' || !Number.isFinite(y[i])) throw new FgvisArgumentError(fn, 'y', `must hold finite numbers, got ${describe(y[i])} at index ${i}`);
  }
  if (x !== undefined) {
    if (x === null || typeof x !== 'object' || x.length !== n) {
      throw new FgvisArgumentError(fn, 'x', `must be an array of ${n} numbers (the length of y), got ${describe(x)}`);
    }
    for (let i = 1; i < n; i++) {
      if (!(x[i]! >= x[i - 1]!)) throw new FgvisArgumentError(fn, 'x', `must be non-decreasing, got x[${i - 1}] = ${x[i - 1]} > x[${i}] = ${x[i]}`);
    }
  }
  const at = (i: number) => (x === undefined ? i / (n - 1) : x[i]!);
  let area = 0;
  for (let i = 0; i + 1 < n; i++) area += ((at(i + 1) - at(i)) * (y[i]! + y[i + 1]!)) / 2;
  return area;
}

/**
 * Pixel order for a saliency map: flat indices `row * W + col`, most salient
 * first; ties (equal values) in ascending flat index, i.e. row-major order,
 * or, with a `tieSeed`, in a seeded random order. Returns each pixel's rank
 * (0 = first to move).
 */
export function saliencyRanks(values: ArrayLike<number>, tieSeed?: number): Float32Array {
  const n = values.length;
  // The tie-break key of each pixel: its index, or its position in a seeded shuffle.
  const key = Float64Array.from({ length: n }, (_, i) => i);
  if (tieSeed !== undefined) {
    const rnd = seededRandom(tieSeed);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [key[i], key[j]] = [key[j]!, key[i]!];
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[j]! - values[i]! || key[i]! - key[j]!);
  const ranks = new Float32Array(values.length);
  order.forEach((pixel, rank) => {
    ranks[pixel] = rank;
  });
  return ranks;
}

/** `makeReference`, with errors naming the substrate option. */
function substrateFor(x: tf.Tensor4D, option: Reference, kind: string, blurSigma: number, seed: number, fn: string): tf.Tensor4D | null {
  try {
    return makeReference(x, option, { blurSigma, seed, caller: fn });
  } catch (e) {
    if (e instanceof FgvisArgumentError && e.argument === 'options.reference') {
      const message = e.message.slice(e.message.indexOf('options.reference') + 'options.reference'.length + 1);
      throw new FgvisArgumentError(fn, `options.${kind}Substrate`, message);
    }
    throw e;
  }
}

/**
 * Deletion and insertion metrics of a saliency map (RISE, Petsiuk et al. 2018).
 *
 * Pixels (all channels together) are ordered by decreasing saliency, ties
 * in a seeded random order (`ties`). The `H*W` pixels are split into `steps` chunks of
 * `round(k*H*W/steps)` cumulative pixels (equal when `steps` divides `H*W`).
 * - Deletion: image `k` is the input with its first `n_k` pixels replaced by
 *   the deletion substrate (default zero in the model's input space).
 * - Insertion: image `k` is the insertion substrate (default the input blurred
 *   with sigma 5) with the input's first `n_k` pixels put back.
 * The target's probability is read on each image with the unmodified model;
 * the area is the trapezoid rule over the fraction of pixels moved, in [0, 1].
 * Forward passes are batched (`batchSize` images per pass) when the model
 * handles batches, else made one by one.
 *
 * @param model The model (GraphModel, LayersModel or function).
 * @param input `[H,W,C]` or `[1,H,W,C]` float32 in the model's input space; not modified.
 * @param saliency `[H,W]` importance map (higher = more important); not modified.
 * @param target Class index or `'top'` (the model's prediction on the input).
 * @param options See {@link DeletionInsertionOptions}; defaults in {@link DELETION_INSERTION_DEFAULTS}.
 */
export async function deletionInsertion(
  model: ExplainableModel,
  input: tf.Tensor,
  saliency: tf.Tensor2D,
  target: Target = 'top',
  options?: DeletionInsertionOptions,
): Promise<DeletionInsertionResult> {
  const fn = 'deletionInsertion';
  const o = checkOptionsObject(fn, options, KNOWN);
  const D = DELETION_INSERTION_DEFAULTS;
  const mode = oneOf(fn, 'mode', o.mode ?? D.mode, ['both', 'deletion', 'insertion'] as const);
  const requestedSteps = positiveInteger(fn, 'steps', o.steps ?? D.steps);
  const batchSize = positiveInteger(fn, 'batchSize', o.batchSize ?? D.batchSize);
  const blurSigma = o.blurSigma ?? D.blurSigma;
  if (typeof blurSigma !== 'number' || !(blurSigma > 0) || !Number.isFinite(blurSigma)) {
    throw new FgvisArgumentError(fn, 'options.blurSigma', `must be a positive number, got ${describe(blurSigma)}`);
  }
  const seed = o.seed ?? D.seed;
  if (typeof seed !== 'number' || !Number.isFinite(seed)) throw new FgvisArgumentError(fn, 'options.seed', `must be a finite number, got ${describe(seed)}`);
  const ties = oneOf(fn, 'ties', o.ties ?? D.ties, ['random', 'raster'] as const);
  throwIfAborted(o.signal);

  const x = await checkImage(input, fn);
  const owned: tf.Tensor[] = [x];
  try {
    const [, height, width] = x.shape;
    const { values } = await readSaliency(saliency, fn, [height, width]);
    const scorer = await BatchScorer.create(model, x, { scores: o.scores, outputNode: o.outputNode, caller: fn, batchSize });
    const c = resolveTarget(target, await probsOf(scorer.scorer, x), fn, 'target', modelLabels(model));
    const pixels = height * width;
    const steps = Math.min(requestedSteps, pixels);
    const counts = Array.from({ length: steps + 1 }, (_, k) => Math.round((k * pixels) / steps));
    const fractions = counts.map((n) => n / pixels);
    const rank = tf.tensor4d(saliencyRanks(values, ties === 'random' ? seed : undefined), [1, height, width, 1]);
    owned.push(rank);

    // Substrates first: a bad option fails before any forward pass.
    const substrates: Record<'deletion' | 'insertion', tf.Tensor4D | null> = { deletion: null, insertion: null };
    for (const kind of ['deletion', 'insertion'] as const) {
      if (mode === (kind === 'deletion' ? 'insertion' : 'deletion')) continue;
      const option = kind === 'deletion' ? (o.deletionSubstrate ?? D.deletionSubstrate) : (o.insertionSubstrate ?? D.insertionSubstrate);
      substrates[kind] = substrateFor(x, option, kind, blurSigma, seed, fn);
      if (substrates[kind]) owned.push(substrates[kind]!);
    }

    // moved = 1 where the pixel's rank is below the step's count.
    const curveFor = async (kind: 'deletion' | 'insertion'): Promise<PerturbationCurve> => {
      const substrate = substrates[kind];
      const build = (start: number, count: number): tf.Tensor4D =>
        tf.tidy(() => {
          const thresholds = tf.tensor4d(counts.slice(start, start + count), [count, 1, 1, 1]);
          const moved = tf.cast(tf.less(rank, thresholds), 'float32');
          const keep = kind === 'deletion' ? tf.sub(1, moved) : moved; // 1 = the input's pixel
          const fromInput = tf.mul(keep, x);
          return (substrate === null ? fromInput : tf.add(fromInput, tf.mul(tf.sub(1, keep), substrate))) as tf.Tensor4D;
        });
      const scores = await scorer.targetScores(steps + 1, c, build, () => throwIfAborted(o.signal));
      const curve = Array.from(scores);
      return { auc: trapezoidAuc(curve, fractions), curve, fractions: [...fractions] };
    };

    const result: DeletionInsertionResult = { target: c };
    if (mode !== 'insertion') result.deletion = await curveFor('deletion');
    if (mode !== 'deletion') result.insertion = await curveFor('insertion');
    return result;
  } finally {
    tf.dispose(owned);
  }
}
