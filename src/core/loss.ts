/**
 * The loss builder: the two games from small composable terms.
 *
 * - preservation: minimise `phi(e) + lambda * mean(m)`: keep the prediction with as few values as possible;
 * - deletion: minimise `-phi(e) + lambda * mean(1 - m)`: destroy it by removing as few as possible.
 *
 * `phi` (the class term) is the only term whose gradient flows through the
 * model, and so the only one the gradient filter sees; the sparsity term acts
 * on the mask directly. The L1 norm is taken as a mean (`||m||_1 / N`) so that
 * lambda does not depend on the image size.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError } from '../util/errors';
import { checkOptionNames } from '../util/validate';
import { selectClass } from '../model/adapter';

/** The game: keep the prediction (`'preservation'`) or destroy it (`'deletion'`). */
export type Game = 'preservation' | 'deletion';

/**
 * The class term `phi`, a dissimilarity between the model's output on the
 * explanation and on the image for the target class `c`:
 * - `'log-score'`: `-log p_c(e)` (cross-entropy with the one-hot target; does not
 *   saturate when `p_c` is near 0 or 1);
 * - `'score'`: `-p_c(e)`, the negative softmax score (the paper);
 * - `'cross-entropy'`: `-sum_k p_k(x) log p_k(e)`, against the image's whole output (the paper);
 * - `'log-complement'`: `log(1 - p_c(e))`, the log-probability of "any other class".
 *   Its gradient does not vanish while `p_c` is near 1 (where `p_c` and `log p_c`
 *   both saturate), and it flattens out once `p_c` is near 0: the deletion default.
 * - `'log-odds'`: `-log(p_c / (1 - p_c))`, the negative log-odds of the class
 *   against all others. Its gradient with respect to the target's logit is
 *   -1 whatever `p_c` is: it does not vanish on a saturated score (`p_c`
 *   near 1), where `-log p_c`'s does.
 * Never the raw logit. Preservation minimises `phi`; deletion maximises it.
 */
export type ClassTermKind = 'log-score' | 'score' | 'cross-entropy' | 'log-complement' | 'log-odds';

/** The class terms {@link buildLoss} accepts. */
export const CLASS_TERMS: readonly ClassTermKind[] = ['log-score', 'score', 'cross-entropy', 'log-complement', 'log-odds'];

/**
 * The games' default class terms: `'log-score'` to preserve (it starts satisfied
 * and only has to hold the score), `'log-complement'` to delete (it must move a
 * saturated score, and stops pushing once the class is gone).
 */
export const DEFAULT_CLASS_TERM: Readonly<Record<Game, ClassTermKind>> = { preservation: 'log-score', deletion: 'log-complement' };

/** Options of {@link buildLoss}. */
export interface LossOptions {
  /** The game; default `'preservation'`. */
  game?: Game;
  /** The class term; default {@link DEFAULT_CLASS_TERM}[game]. */
  classTerm?: ClassTermKind;
  /** The target class index. */
  target: number;
  /** The image's probabilities `[1, K]` (needed by `'cross-entropy'`); not disposed. */
  imageProbs?: tf.Tensor2D;
}

/** A built loss. Both functions return new scalars owned by the caller. */
export interface FgvisLoss {
  /** The game. */
  readonly game: Game;
  /** The class term kind. */
  readonly classTermKind: ClassTermKind;
  /** The signed class term from the explanation's log-probabilities `[1, K]` (the part that goes through the model). */
  classTerm(logProbs: tf.Tensor2D): tf.Scalar;
  /** The unweighted sparsity term of the mask: `mean(m)` (preservation) or `mean(1 - m)` (deletion). */
  sparsity(m: tf.Tensor): tf.Scalar;
  /** The whole loss `classTerm + lambda * sparsity`. */
  total(logProbs: tf.Tensor2D, m: tf.Tensor, lambda: number | tf.Scalar): tf.Scalar;
}

/** `-log p_c`: the target's negative log-probability. */
export function targetLogScore(logProbs: tf.Tensor2D, target: number): tf.Scalar {
  return tf.tidy(() => tf.neg(selectClass(logProbs, target)));
}

/** `-p_c`: the target's negative probability. */
export function targetScore(logProbs: tf.Tensor2D, target: number): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.exp(selectClass(logProbs, target))));
}

/** `-sum_k q_k log p_k`: cross-entropy of the explanation's output against the image's probabilities `q`. */
export function crossEntropyWithImage(logProbs: tf.Tensor2D, imageProbs: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(imageProbs, logProbs))) as tf.Scalar);
}

/** `log(1 - p_c)`, computed stably as the log-sum-exp of the other classes' log-probabilities. */
export function targetLogComplement(logProbs: tf.Tensor2D, target: number): tf.Scalar {
  return tf.tidy(() => {
    const k = logProbs.shape[1];
    const parts: tf.Tensor[] = [];
    if (target > 0) parts.push(tf.slice(logProbs, [0, 0], [1, target]));
    if (target < k - 1) parts.push(tf.slice(logProbs, [0, target + 1], [1, k - target - 1]));
    if (parts.length === 0) return tf.scalar(-Infinity);
    return tf.reshape(tf.logSumExp(parts.length === 1 ? parts[0]! : tf.concat(parts, 1)), []) as tf.Scalar;
  });
}

/** `-log(p_c / (1 - p_c))`: the target's negative log-odds against every other class. */
export function targetLogOdds(logProbs: tf.Tensor2D, target: number): tf.Scalar {
  return tf.tidy(() => tf.sub(targetLogComplement(logProbs, target), selectClass(logProbs, target)) as tf.Scalar);
}

/** `mean(m)`: the L1 norm of a mask in [0, 1] divided by its size. */
export function maskL1(m: tf.Tensor): tf.Scalar {
  return tf.mean(m) as tf.Scalar;
}

/** Build the loss of a game from its terms. */
export function buildLoss(options: LossOptions): FgvisLoss {
  const fn = 'buildLoss';
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FgvisArgumentError(fn, 'options', `must be an object { target, game?, classTerm?, imageProbs? }, got ${describe(options)}`);
  }
  checkOptionNames(fn, options, ['game', 'classTerm', 'target', 'imageProbs']);
  const game = options.game ?? 'preservation';
  if (game !== 'preservation' && game !== 'deletion') {
    throw new FgvisArgumentError(fn, 'options.game', `must be 'preservation' or 'deletion', got ${describe(game)}`);
  }
  const kind = options.classTerm ?? DEFAULT_CLASS_TERM[game];
  if (!CLASS_TERMS.includes(kind)) {
    throw new FgvisArgumentError(fn, 'options.classTerm', `must be one of ${CLASS_TERMS.map((c) => `'${c}'`).join(', ')}, got ${describe(kind)}`);
  }
  const { target, imageProbs } = options;
  if (!Number.isInteger(target) || target < 0) {
    throw new FgvisArgumentError(fn, 'options.target', `must be a non-negative integer class index, got ${describe(target)}`);
  }
  if (kind === 'cross-entropy' && imageProbs === undefined) {
    throw new FgvisArgumentError(fn, 'options.imageProbs', "is required by the 'cross-entropy' class term, got undefined");
  }
  if (imageProbs !== undefined) {
    if (!(imageProbs instanceof tf.Tensor) || imageProbs.isDisposed || imageProbs.rank !== 2 || imageProbs.shape[0] !== 1) {
      throw new FgvisArgumentError(fn, 'options.imageProbs', `must be a live [1, classes] tensor, got ${imageProbs instanceof tf.Tensor && imageProbs.isDisposed ? 'a disposed tensor' : describe(imageProbs)}`);
    }
    if (target >= imageProbs.shape[1]) {
      throw new FgvisArgumentError(fn, 'options.target', `must be a class index below ${imageProbs.shape[1]} (the classes of options.imageProbs), got ${describe(target)}`);
    }
  }
  const phi = (logProbs: tf.Tensor2D): tf.Scalar => {
    switch (kind) {
      case 'log-score':
        return targetLogScore(logProbs, target);
      case 'score':
        return targetScore(logProbs, target);
      case 'cross-entropy':
        return crossEntropyWithImage(logProbs, imageProbs!);
      case 'log-complement':
        return targetLogComplement(logProbs, target);
      case 'log-odds':
        return targetLogOdds(logProbs, target);
    }
  };
  const sign = game === 'preservation' ? 1 : -1;
  const classTerm = (logProbs: tf.Tensor2D): tf.Scalar => tf.tidy(() => tf.mul(sign, phi(logProbs)));
  const sparsity = (m: tf.Tensor): tf.Scalar =>
    tf.tidy(() => (game === 'preservation' ? maskL1(m) : tf.sub(1, maskL1(m))));
  return {
    game,
    classTermKind: kind,
    classTerm,
    sparsity,
    total: (logProbs, m, lambda) => tf.tidy(() => tf.add(classTerm(logProbs), tf.mul(lambda, sparsity(m)))),
  };
}
