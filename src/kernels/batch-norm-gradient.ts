/**
 * An input-only gradient for `FusedBatchNorm` (inference-mode batch
 * normalisation, as in every Keras LayersModel with BatchNormalization).
 *
 * tfjs's gradient computes, eagerly and for every call, `x - mean` and
 * `dy * scale` (full-size tensors used only by the mean, variance and scale
 * gradients) and then, for the input gradient, tiles `1 / sqrt(var + eps)` to
 * the full activation shape before multiplying. On wasm `Tile` alone was about
 * half of a MobileNetV2 (LayersModel) step. The replacement computes the input
 * gradient with the same operations in the same order, but multiplies by the
 * per-channel factor with broadcasting (the same values as the tiled product),
 * and computes the other gradients only when asked, through the original
 * gradient function.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';

type Grads = ReturnType<GradConfig['gradFunc']>;

/** A `FusedBatchNorm` gradient config that computes `dx` cheaply and delegates the rest to `original`. */
export function inputOnlyBatchNormGradient(original: GradConfig): GradConfig {
  return {
    kernelName: 'FusedBatchNorm',
    inputsToSave: original.inputsToSave?.slice() ?? ['x', 'mean', 'variance', 'scale'],
    ...(original.saveAllInputs ? { saveAllInputs: true } : {}),
    ...(original.outputsToSave ? { outputsToSave: original.outputsToSave.slice() } : {}),
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap): Grads => {
      const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
      const g = Array.isArray(dy) ? dy[0]! : dy;
      // Each thunk runs in its own scope: the original's eager intermediates
      // cannot be shared between thunks, so each one recomputes them (only
      // when the statistics depend on the input, which inference never does).
      const others = () => original.gradFunc(dy, saved, attrs);
      const derX = () => {
        const eps = (attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001;
        const scaleValue = scale == null ? tf.scalar(1) : scale;
        const oneOverSqrtVariance = tf.rsqrt(tf.add(variance, tf.scalar(eps)));
        const factor = mean.rank === 1 && x.rank === 4 ? tf.reshape(oneOverSqrtVariance, [1, 1, 1, mean.shape[0]!]) : oneOverSqrtVariance;
        return tf.reshape(tf.mul(tf.mul(g, factor), scaleValue), x.shape);
      };
      return {
        x: derX,
        mean: () => others()['mean']!(),
        variance: () => others()['variance']!(),
        scale: () => others()['scale']!(),
        offset: () => others()['offset']!(),
      };
    },
  };
}
