/**
 * Shared helpers of the metrics: argument checks, reading tensors without
 * synchronous reads, and batched scoring of several perturbed images.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { readAndDispose } from '../util/read';
import { describe, FgvisArgumentError } from '../util/errors';
import {
  adaptModel,
  type ExplainableModel,
  type ScoreModel,
  type ScoresOption,
} from '../model/adapter';
import { checkInput, checkTarget } from '../util/input';

export { checkOptionsObject, nonNegative, oneOf, positiveInteger } from '../util/validate';

/** Validate an image and return it as `[1,H,W,C]` (see {@link checkInput}). */
export const checkImage = (input: unknown, fn: string, argument = 'input'): Promise<tf.Tensor4D> => checkInput(input, fn, argument);

/**
 * Validate a saliency map (a rank-2 tensor, finite; `[H,W]` when a shape is
 * given) and read it to the host.
 */
export async function readSaliency(
  saliency: unknown,
  fn: string,
  shape?: readonly [number, number],
  argument = 'saliency',
): Promise<{ values: Float32Array; height: number; width: number }> {
  if (!(saliency instanceof tf.Tensor)) {
    throw new FgvisArgumentError(fn, argument, `must be a Tensor2D [H,W], got ${describe(saliency)}`);
  }
  if (saliency.isDisposed) throw new FgvisArgumentError(fn, argument, 'is a disposed tensor; expected a live (undisposed) tensor');
  if (saliency.rank !== 2) {
    throw new FgvisArgumentError(fn, argument, `must be a Tensor2D [H,W], got rank ${saliency.rank} [${saliency.shape.join(',')}]`);
  }
  const [height, width] = saliency.shape as [number, number];
  if (shape && (height !== shape[0] || width !== shape[1])) {
    throw new FgvisArgumentError(fn, argument, `must have the input's spatial shape [${shape.join(',')}], got [${saliency.shape.join(',')}]`);
  }
  if (saliency.size === 0) throw new FgvisArgumentError(fn, argument, 'must not be empty');
  const raw = await saliency.data();
  const values = Float32Array.from(raw as ArrayLike<number>);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new FgvisArgumentError(fn, argument, `must be finite, got ${values[i]} at [${Math.floor(i / width)},${i % width}]`);
    }
  }
  return { values, height, width };
}


/**
 * Resolve `'top'` (largest score), validate a class index against the number
 * of classes, or look up a class name in `labels` (the model's, see `withLabels`).
 */
export function resolveTarget(target: unknown, probs: ArrayLike<number>, fn: string, argument = 'target', labels?: readonly string[]): number {
  return checkTarget(target, probs, fn, labels, argument);
}

/** The probabilities `[K]` of one `[1,H,W,C]` image, read to the host. */
export async function probsOf(scorer: ScoreModel, x: tf.Tensor4D): Promise<Float32Array> {
  return readAndDispose(tf.tidy(() => scorer.probs(x)));
}

/** Options of {@link BatchScorer}. */
export interface BatchScorerOptions {
  scores?: ScoresOption;
  outputNode?: string;
  caller: string;
  /** Largest batch per forward pass; 1 disables batching. */
  batchSize: number;
}

/**
 * Scores many images of one model, several per forward pass where the model
 * accepts a batch. The first batched call is checked against a single-image
 * pass on its first image; if the model throws, returns the wrong shape or a
 * different answer, scoring falls back to one image per call for good.
 */
export class BatchScorer {
  /** The single-image adapter (validated on the image the scorer was made with). */
  readonly scorer: ScoreModel;
  private batching: boolean;
  private verified = false;

  private constructor(scorer: ScoreModel, batchSize: number) {
    this.scorer = scorer;
    this.batchSize = batchSize;
    this.batching = batchSize > 1;
  }

  /** Largest batch per forward pass. */
  readonly batchSize: number;

  /** Whether batched passes are (still) in use. */
  get batched(): boolean {
    return this.batching;
  }

  /** Adapt `model` on `x` (`[1,H,W,C]`, not disposed). */
  static async create(model: ExplainableModel, x: tf.Tensor4D, options: BatchScorerOptions): Promise<BatchScorer> {
    const scorer = await adaptModel(model, x, { scores: options.scores, outputNode: options.outputNode, caller: options.caller });
    return new BatchScorer(scorer, options.batchSize);
  }

  /**
   * The target's probability on each image built by `build(start, count)`
   * (which must return a new `[count,H,W,C]` tensor), for `total` images.
   */
  async targetScores(total: number, target: number, build: (start: number, count: number) => tf.Tensor4D, onBatch?: () => void): Promise<Float32Array> {
    const out = new Float32Array(total);
    let start = 0;
    while (start < total) {
      onBatch?.();
      const count = this.batching ? Math.min(this.batchSize, total - start) : 1;
      let values: Float32Array | null = null;
      if (count > 1) values = await this.tryBatch(start, count, target, build);
      if (values === null) {
        values = await readAndDispose(
          tf.tidy(() => {
            const xb = build(start, 1);
            return tf.slice(this.scorer.probs(xb), [0, target], [1, 1]);
          }),
        );
        out[start] = values[0]!;
        start += 1;
        continue;
      }
      out.set(values, start);
      start += count;
    }
    return out;
  }

  /** One batched pass; `null` (and batching switched off) when the model does not handle batches. */
  private async tryBatch(start: number, count: number, target: number, build: (start: number, count: number) => tf.Tensor4D): Promise<Float32Array | null> {
    const k = this.scorer.numClasses;
    let result: tf.Tensor | null = null;
    try {
      result = tf.tidy(() => {
        const xb = build(start, count);
        const p = this.scorer.probs(xb);
        if (this.verified) return tf.reshape(tf.slice(p, [0, target], [count, 1]), [count]);
        // First batch: compare its first row with a single-image pass.
        const single = this.scorer.probs(tf.slice(xb, [0, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D);
        const diff = tf.max(tf.abs(tf.sub(tf.slice(p, [0, 0], [1, k]), single)));
        return tf.concat([tf.reshape(tf.slice(p, [0, target], [count, 1]), [count]), tf.reshape(diff, [1])]);
      });
    } catch {
      this.batching = false;
      return null;
    }
    const values = await readAndDispose(result);
    if (this.verified) return values;
    const diff = values[count]!;
    if (!(diff <= 1e-3)) {
      this.batching = false;
      return null;
    }
    this.verified = true;
    return values.subarray(0, count);
  }
}

