/**
 * The shape every attribution method in fgvis shares, so that `explain`, the
 * baselines and the metrics compose: `(model, input, target, options) =>
 * Promise<Attribution>`.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ExplainableModel } from '../model/adapter';

/** The result every method returns. Owns its tensors until `dispose()`. */
export interface Attribution {
  /** Per-pixel importance `[H, W]`, values in [0, 1], higher = more important for the target. */
  saliency: tf.Tensor2D;
  /** The class explained (resolved from `'top'`). */
  target: number;
  /** Free the result's tensors. Idempotent. */
  dispose(): void;
}

/** An attribution method with fgvis's call shape. `explain` is one. */
export type AttributionMethod<O = object> = (
  model: ExplainableModel,
  input: tf.Tensor,
  target: number | 'top',
  options?: O,
) => Promise<Attribution>;

/** Build a result object owning `tensors`: `dispose()` frees them once. */
export function withDispose<T extends object>(fields: T, tensors: tf.Tensor[]): T & Pick<Attribution, 'dispose'> {
  let disposed = false;
  return {
    ...fields,
    dispose() {
      if (disposed) return;
      disposed = true;
      tf.dispose(tensors);
    },
  };
}
