/**
 * Meaningful Perturbation (Fong & Vedaldi 2017, "Interpretable explanations
 * of black boxes by meaningful perturbation"): a smooth, low-resolution mask
 * that blends the image with a blurred copy, optimised to delete (or
 * preserve) the class with as little of the image as possible. FGVis's
 * closest relative: the same games, but smooth masks and no defense.
 *
 * @packageDocumentation
 */
import type { Target } from '../util/input';
import * as tf from '@tensorflow/tfjs-core';
import { withInputGradientKernels } from '../kernels';
import type { DisposableAttribution } from '../util/attribution';
import { describe, FgvisArgumentError, FgvisModelError, gradientError, throwIfAborted } from '../util/errors';
import { assertGradientsRegistered } from '../util/gradients';
import { checkReference, makeReference, type Reference } from '../util/reference';
import type { ExplainableModel } from '../model/adapter';
import { adam, optimize, type StepRecord } from '../core/optimize';
import {
  bilinearMatrix,
  checkModelReadOptions,
  checkOptionsObject,
  checkScoreOption,
  checkSignal,
  finiteNumber,
  MODEL_READ_OPTIONS,
  oneOf,
  positiveInteger,
  prepare,
  type ClassScore,
  type ModelReadOptions,
} from './common';
import { withDispose } from '../util/attribution';
import { readScalar } from '../util/read';
import { targetLogComplement } from '../core/loss';

/**
 * The number of mask entries (28 x 28, a 224 x 224 input at 1/8 resolution)
 * at which the paper's regulariser weights apply. The authors' code sums both
 * regularisers over the entries of the 28 x 28 mask it optimises (the L1 norm
 * of `1 - m` and the total variation of `m`, not of the upsampled mask): here
 * each is a mean over the entries of the low-resolution mask times this
 * count, i.e. exactly the authors' sums for a 224 x 224 input, and the same
 * trade-off (the cost of deleting everything, 784 * lambda_1 = 0.078) at any
 * other size.
 *
 * (fgvis 0.1 took the means over the upsampled `[H,W]` mask times 224^2,
 * which made the L1 term 64 times the authors'; with the probability class
 * term, which saturates on a confident class, the deletion mask then never
 * left its start on the known-evidence benchmark: see docs/known-evidence.)
 */
export const MEANINGFUL_PERTURBATION_REFERENCE_CELLS = 28 * 28;

/** Options of {@link meaningfulPerturbation}; defaults in {@link MEANINGFUL_PERTURBATION_DEFAULTS}. */
export interface MeaningfulPerturbationOptions extends ModelReadOptions {
  /**
   * `'deletion'` (default, the paper's main game): minimise the class score
   * of the perturbed image while deleting as little as possible;
   * `'preservation'`: keep the score while preserving as little as possible.
   */
  game?: 'deletion' | 'preservation';
  /** Optimisation steps; default 300. */
  steps?: number;
  /** Adam's step size; default 0.1. */
  learningRate?: number;
  /**
   * L1 weight lambda_1 on the deleted (deletion) or kept (preservation) part
   * of the low-resolution mask, in the paper's units (see
   * {@link MEANINGFUL_PERTURBATION_REFERENCE_CELLS}); default: 1e-4 for
   * deletion (the paper's), 6.4e-3 for preservation (the weight this game had
   * in fgvis 0.1, 64 x 1e-4 in these units; with 1e-4 the preserved region
   * stayed large and diffuse on the known-evidence models).
   */
  l1?: number;
  /** Total-variation weight lambda_2 (on the low-resolution mask, scaled like `l1`); default 1e-2. */
  tv?: number;
  /** Total-variation exponent beta: `sum_u |d_x m(u)|^beta + |d_y m(u)|^beta`; default 3. */
  tvExponent?: number;
  /** Upsampling factor from the mask to the image: the mask is `ceil(H / upsample) x ceil(W / upsample)` (28 x 28 for 224); default 8. */
  upsample?: number;
  /** What deleted pixels become; default `'blur'` (the paper's blurred image). */
  reference?: Reference;
  /** Blur sigma in pixels for `reference: 'blur'`; default 10 (the paper's). */
  blurSigma?: number;
  /** Seed for `reference: 'noise'`; default 0. */
  seed?: number;
  /** Starting value of every mask entry (1 = keep); default 1: the first perturbed image is the image itself. */
  init?: number;
  /**
   * The class score reported in `scores` and used by `classTerm: 'score'`;
   * default `'probability'` (the paper's softmax score); or `'log-probability'`.
   */
  score?: 'probability' | 'log-probability';
  /**
   * What the optimisation minimises besides the regularisers; default
   * `'auto'`: `'log-complement'` for deletion, `'score'` for preservation.
   * - `'score'`: the class score `s` (see `score`) for deletion, `-s` for
   *   preservation: the paper's objective with `score: 'probability'`. On a
   *   confident class (probability near 1) its gradient vanishes (`p (1 - p)`
   *   for the probability, `1 - p` for the log-probability), so a deletion
   *   mask that starts at 1 never moves.
   * - `'log-complement'` (deletion only): `-log(1 - p)`, computed from the other
   *   classes' probabilities. Its gradient with respect to the target's logit is
   *   `p`: about 1 while the class is confident, vanishing once it is deleted,
   *   which leaves the L1 term to shrink the deletion to what is needed. Same
   *   minimiser direction as the paper's probability, without its saturation.
   */
  classTerm?: 'auto' | 'score' | 'log-complement';
  /** Progress callback after each step (`loss`, `score`). */
  onStep?: (record: StepRecord) => void | Promise<void>;
  /** Aborts between steps: the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Read progress from the device (and decide to stop) every this many steps; default 10, with or without `onStep`. */
  readEvery?: number;
}

/** The defaults of {@link meaningfulPerturbation}. */
export const MEANINGFUL_PERTURBATION_DEFAULTS = {
  game: 'deletion',
  steps: 300,
  learningRate: 0.1,
  l1: { deletion: 1e-4, preservation: 6.4e-3 },
  tv: 1e-2,
  tvExponent: 3,
  upsample: 8,
  reference: 'blur',
  blurSigma: 10,
  seed: 0,
  init: 1,
  score: 'probability',
  classTerm: 'auto',
  readEvery: 10,
  scores: 'auto',
} as const satisfies Omit<MeaningfulPerturbationOptions, 'l1'> & { l1: Record<'deletion' | 'preservation', number> };

const KNOWN = [
  'game', 'steps', 'learningRate', 'l1', 'tv', 'tvExponent', 'upsample', 'reference', 'blurSigma', 'seed', 'init', 'score',
  'classTerm', 'onStep', 'signal', 'readEvery', ...MODEL_READ_OPTIONS,
] as const;

/** The result of {@link meaningfulPerturbation}. Owns its tensors until `dispose()`. */
export interface MeaningfulPerturbationResult extends DisposableAttribution {
  /** The full-resolution mask `[H,W]` in [0, 1] (1 = the image is kept, 0 = replaced by the reference). */
  mask: tf.Tensor2D;
  /** The optimised low-resolution mask `[h,w]`. */
  lowResMask: tf.Tensor2D;
  /** The game played. */
  game: 'deletion' | 'preservation';
  /** The target's class score (see `score`) on the image and on the final perturbed image. */
  scores: { image: number; perturbed: number };
  /** The class score used. */
  score: ClassScore;
  /** Per-step record: `loss` and `score` (before each step's update). */
  history: StepRecord[];
}

/** `sum |d_x m|^beta + |d_y m|^beta` (forward differences) over a `[H,W]` map, divided by `H * W`. */
function meanTotalVariation(m: tf.Tensor2D, beta: number): tf.Scalar {
  return tf.tidy(() => {
    const [h, w] = m.shape;
    const pow = (d: tf.Tensor) => (beta === 1 ? tf.abs(d) : beta === 2 ? tf.square(d) : tf.pow(tf.abs(d), beta));
    let total = tf.scalar(0);
    if (w > 1) total = tf.add(total, tf.sum(pow(tf.sub(tf.slice(m, [0, 1], [h, w - 1]), tf.slice(m, [0, 0], [h, w - 1])))));
    if (h > 1) total = tf.add(total, tf.sum(pow(tf.sub(tf.slice(m, [1, 0], [h - 1, w]), tf.slice(m, [0, 0], [h - 1, w])))));
    return tf.div(total, h * w) as tf.Scalar;
  });
}

/** The options of {@link meaningfulPerturbation}, checked and with their defaults. */
function resolveOptions(fn: string, options: MeaningfulPerturbationOptions | undefined) {
  const o = checkOptionsObject(fn, options, KNOWN);
  const D = MEANINGFUL_PERTURBATION_DEFAULTS;
  const game = oneOf(fn, 'game', o.game ?? D.game, ['deletion', 'preservation'] as const);
  const classTermOption = oneOf(fn, 'classTerm', o.classTerm ?? D.classTerm, ['auto', 'score', 'log-complement'] as const);
  if (classTermOption === 'log-complement' && game !== 'deletion') {
    throw new FgvisArgumentError(fn, 'options.classTerm', "is 'log-complement', which only the deletion game uses (preservation: 'score' or 'auto')");
  }
  if (o.onStep !== undefined && typeof o.onStep !== 'function') {
    throw new FgvisArgumentError(fn, 'options.onStep', `must be a function, got ${describe(o.onStep)}`);
  }
  return {
    read: checkModelReadOptions(fn, o),
    game,
    steps: positiveInteger(fn, 'steps', o.steps ?? D.steps),
    learningRate: finiteNumber(fn, 'learningRate', o.learningRate ?? D.learningRate, { min: 0, minExclusive: true }),
    l1: finiteNumber(fn, 'l1', o.l1 ?? D.l1[game], { min: 0 }),
    tvWeight: finiteNumber(fn, 'tv', o.tv ?? D.tv, { min: 0 }),
    tvExponent: finiteNumber(fn, 'tvExponent', o.tvExponent ?? D.tvExponent, { min: 1 }),
    upsample: positiveInteger(fn, 'upsample', o.upsample ?? D.upsample),
    refOption: checkReference(fn, 'reference', o.reference ?? D.reference),
    blurSigma: finiteNumber(fn, 'blurSigma', o.blurSigma ?? D.blurSigma, { min: 0, minExclusive: true }),
    seed: finiteNumber(fn, 'seed', o.seed ?? D.seed),
    init: finiteNumber(fn, 'init', o.init ?? D.init, { min: 0, max: 1 }),
    score: oneOf(fn, 'score', checkScoreOption(fn, o.score ?? D.score), ['probability', 'log-probability'] as const),
    classTerm: classTermOption === 'auto' ? (game === 'deletion' ? 'log-complement' : 'score') : classTermOption,
    onStep: o.onStep,
    readEvery: positiveInteger(fn, 'readEvery', o.readEvery ?? D.readEvery),
    signal: checkSignal(fn, o.signal),
  };
}

/**
 * Meaningful Perturbation (Fong & Vedaldi 2017). A mask `m` of
 * `ceil(H/8) x ceil(W/8)` entries in [0, 1] is upsampled bilinearly to
 * `M` `[H,W]`; the perturbed image is `M * x + (1 - M) * r` with `r` the
 * image blurred (sigma 10). Deletion minimises
 * `-log(1 - p(perturbed)) + l1 * N * mean(1 - m) + tv * N * mean_TV_beta(m)`
 * (preservation: `-s + l1 * N * mean(m) + ...`), with the regularisers on
 * the low-resolution mask `m` and `N = 28^2` (the authors' sums at the
 * paper's resolution, see {@link MEANINGFUL_PERTURBATION_REFERENCE_CELLS}),
 * `p` the target's softmax probability and `s` the class score (default the
 * probability; the paper's deletion term, `classTerm: 'score'`, saturates on
 * a confident class), with Adam (lr 0.1, 300 steps), the mask clipped to
 * [0, 1] after every step, starting at all ones (the first perturbed image is
 * the image). No jitter or mask noise (the paper's stochastic terms against
 * artefacts): the result is deterministic.
 *
 * The saliency is `1 - M` for deletion (what had to go) and `M` for
 * preservation (what had to stay), already in [0, 1] and not rescaled.
 *
 * @param model A tfjs `GraphModel`, `LayersModel`, or a function `[1,H,W,C] -> [1, classes]`.
 * @param input `[H,W,C]` or `[1,H,W,C]` float32, in the model's input space; never modified or disposed.
 * @param target A class index, or `'top'` for the predicted class.
 * @param options See {@link MeaningfulPerturbationOptions}.
 * @returns The attribution; call `dispose()` to free its tensors.
 */
export async function meaningfulPerturbation(
  model: ExplainableModel,
  input: tf.Tensor,
  target: Target = 'top',
  options?: MeaningfulPerturbationOptions,
): Promise<MeaningfulPerturbationResult> {
  const fn = 'meaningfulPerturbation';
  const { read, game, steps, learningRate, l1, tvWeight, tvExponent, upsample, refOption, blurSigma, seed, init, score, classTerm, readEvery, signal, ...o } =
    resolveOptions(fn, options);
  throwIfAborted(signal);
  assertGradientsRegistered(fn);

  const p = await prepare(fn, model, input, target, { ...read, score });
  const owned: tf.Tensor[] = [];
  let param: tf.Variable | null = null;
  const optimizer = adam({ learningRate });
  let result: tf.Tensor[] = [];
  try {
    const [, H, W] = p.x.shape;
    const h = Math.ceil(H / upsample);
    const w = Math.ceil(W / upsample);
    const reference = makeReference(p.x, refOption, { blurSigma, seed, caller: fn }) ?? tf.zerosLike(p.x);
    owned.push(reference);
    const ry = bilinearMatrix(H, h);
    const rx = bilinearMatrix(W, w);
    owned.push(ry, rx);
    const upsampled = (m: tf.Tensor): tf.Tensor2D => tf.matMul(tf.matMul(ry, m as tf.Tensor2D), rx, false, true);
    const perturbed = (mFull: tf.Tensor2D): tf.Tensor4D =>
      tf.tidy(() => {
        const m4 = tf.reshape(mFull, [1, H, W, 1]);
        return tf.add(tf.mul(m4, p.x), tf.mul(tf.sub(1, m4), reference)) as tf.Tensor4D;
      });
    const cells = MEANINGFUL_PERTURBATION_REFERENCE_CELLS;
    param = tf.tidy(() => tf.variable(tf.fill([h, w], init), true));
    const v = param;

    const imageScore = await readScalar(p.classScores(p.x));

    const { history } = await optimize(v, {
      steps,
      optimizer,
      signal,
      readEvery,
      // A non-finite loss stops the run at the read that brings it, naming the step.
      onStep: (rec: StepRecord) => {
        if (!Number.isFinite(rec.loss!)) {
          throw new FgvisModelError(fn, `the loss became ${rec.loss} at step ${rec.step}; try a smaller options.learningRate`);
        }
        return o.onStep?.(rec);
      },
      computeStep: () => {
        let s: tf.Scalar | null = null;
        const loss = (m: tf.Tensor): tf.Scalar => {
          const e = perturbed(upsampled(m));
          const sc = tf.reshape(p.classScores(e), []) as tf.Scalar;
          s = tf.keep(tf.clone(sc));
          const term =
            classTerm === 'log-complement'
              ? tf.neg(targetLogComplement(p.scorer.logProbs(e), p.target))
              : game === 'deletion'
                ? sc
                : tf.neg(sc);
          const sparse = tf.mul(l1 * cells, tf.mean(game === 'deletion' ? tf.sub(1, m) : m));
          const smooth = tf.mul(tvWeight * cells, meanTotalVariation(m as tf.Tensor2D, tvExponent));
          return tf.add(term, tf.add(sparse, smooth)) as tf.Scalar;
        };
        try {
          // In a tidy: tfjs does not free the forward output when the backward pass throws.
          const { value, grad } = withInputGradientKernels(() => tf.tidy(() => tf.valueAndGrad(loss)(v)));
          return { grad, record: { loss: value, score: s! } };
        } catch (e) {
          (s as tf.Scalar | null)?.dispose();
          throw gradientError(fn, e);
        }
      },
      afterUpdate: () => tf.tidy(() => v.assign(tf.clipByValue(v, 0, 1))),
    });
    for (const rec of history) {
      if (!Number.isFinite(rec.loss!)) {
        throw new FgvisModelError(fn, `the loss became ${rec.loss} at step ${rec.step}; try a smaller options.learningRate`);
      }
    }

    const [lowResMask, mask, saliency, finalScore] = tf.tidy(() => {
      const low = tf.clone(v) as tf.Tensor2D;
      const full = upsampled(low);
      const sal = game === 'deletion' ? tf.sub(1, full) : tf.clone(full);
      return [low, full, sal as tf.Tensor2D, p.classScores(perturbed(full))] as const;
    });
    result = [lowResMask, mask, saliency];
    let perturbedScore: number;
    try {
      perturbedScore = (await finalScore.data())[0]!;
    } finally {
      finalScore.dispose();
    }
    const out = withDispose(
      { saliency, target: p.target, mask, lowResMask, game, scores: { image: imageScore, perturbed: perturbedScore }, score: p.score, history },
      result,
    );
    result = [];
    return out;
  } finally {
    tf.dispose(result);
    tf.dispose(owned);
    param?.dispose();
    optimizer.dispose();
    p.dispose();
  }
}
