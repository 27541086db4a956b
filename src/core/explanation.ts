/**
 * What `explain()` and `explainBatch()` take and return: the target, the
 * items of a run, and the explanation.
 *
 * @packageDocumentation
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ScoreGoal } from './lambda';
import type { Game } from './loss';
import type { ExplainStep } from './options';
import type { Target } from '../util/input';

export type { Target } from '../util/input';

/** The result of `explain()`. Owns its tensors until {@link Explanation.dispose}. */
export interface Explanation {
  /** The mask `m`, same shape as the input, values in [0, 1]. */
  mask: tf.Tensor;
  /**
   * The explanation `m * x + (1 - m) * r` the model was shown, same shape as
   * the input: what the mask kept (preservation), or the image with the
   * found evidence removed (deletion). Its score is `scores.explanation`.
   */
  explanation: tf.Tensor;
  /**
   * The evidence found, on the reference, same shape as the input: the
   * values the game kept (preservation: equal to `explanation`) or removed
   * (deletion: `(1 - m) * x + m * r`, the paper's `x * (1 - m)`). The picture
   * to show beside the saliency.
   */
  evidence: tf.Tensor;
  /** Per-pixel importance `[H, W]` in [0, 1]: channel mean of `m` (preservation) or of `1 - m` (deletion). */
  saliency: tf.Tensor2D;
  /** The class explained. */
  target: number;
  /** The game played. */
  game: Game;
  /** The lambda used (for `'auto'`, the one the returned mask was found with). */
  lambda: number;
  /** The optimisation steps run. */
  steps: number;
  /** How many times the automatic lambda's guard restored the best iterate and slowed down. */
  backoffs: number;
  /** The target's softmax score, read from the unmodified model. */
  scores: {
    /** On the input image. */
    image: number;
    /** On the explanation. */
    explanation: number;
    /** On the reference alone (everything removed): the floor of a deletion. */
    reference: number;
  };
  /** The mask's mean value (L1 norm / size). */
  maskMean: number;
  /** How many layer outputs the defense gated (0 with `defense: false`). */
  gatedOutputs: number;
  /** @deprecated Renamed {@link Explanation.gatedOutputs}; this alias will be removed. */
  filtered: number;
  /** The score goal the automatic lambda aimed for (absent for a fixed lambda). */
  goal?: ScoreGoal;
  /** Per-step record: loss, target score, mask mean, lambda. */
  history: ExplainStep[];
  /** Things the caller should know (e.g. the defense found no output to gate). */
  warnings: string[];
  /** Free the result's tensors. Idempotent. */
  dispose(): void;
  /** Calls `dispose()`: `using result = await explain(...)` frees the tensors at the end of the block. */
  [Symbol.dispose](): void;
}

/** One explanation of a run: the image (row of the batch) and the class. */
export interface RunItem {
  /** Row of the images tensor. */
  image: number;
  /** The class to explain on it. */
  target: Target;
}
