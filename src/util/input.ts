/**
 * Validation shared by every method with fgvis's call shape
 * `(model, input, target, options)`: the input image and the target class.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError } from './errors';

/**
 * Validate the input tensor and return it as `[1,H,W,C]`: a reshape owned by
 * the caller (dispose it); the user's tensor is never modified or disposed.
 * Checks: a live float32 tensor of rank 3 `[H,W,C]` or rank 4 `[1,H,W,C]`,
 * not empty, every value finite (read asynchronously).
 *
 * @param input The user's input.
 * @param fn The function name used in error messages, e.g. `'explain'`.
 * @param argument The argument's name in error messages; default `'input'`.
 * @param batch Accept a batch `[N,H,W,C]` of any size N >= 1 (returned as is, reshaped); default false.
 * @throws FgvisArgumentError naming `fn` and the argument.
 */
export async function checkInput(input: unknown, fn: string, argument = 'input', batch = false): Promise<tf.Tensor4D> {
  const rank4 = batch ? '[N,H,W,C]' : '[1,H,W,C]';
  if (!(input instanceof tf.Tensor)) {
    throw new FgvisArgumentError(fn, argument, `must be a Tensor3D [H,W,C] or Tensor4D ${rank4}, got ${describe(input)}`);
  }
  if (input.isDisposed) throw new FgvisArgumentError(fn, argument, 'is a disposed tensor; expected a live (undisposed) tensor');
  if (input.rank !== 3 && input.rank !== 4) {
    throw new FgvisArgumentError(fn, argument, `must be rank 3 [H,W,C] or rank 4 ${rank4}, got rank ${input.rank} [${input.shape.join(',')}]`);
  }
  if (input.rank === 4 && input.shape[0] !== 1 && !batch) {
    throw new FgvisArgumentError(fn, argument, `must have batch size 1, got shape [${input.shape.join(',')}]`);
  }
  if (input.dtype !== 'float32') {
    throw new FgvisArgumentError(fn, argument, `must be a float32 tensor in the model's input space, got dtype ${input.dtype}`);
  }
  if (input.size === 0) throw new FgvisArgumentError(fn, argument, `must not be empty, got shape [${input.shape.join(',')}]`);
  const values = await input.data();
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new FgvisArgumentError(fn, argument, `must be finite, got ${Number.isNaN(values[i]!) ? 'NaN' : values[i]} at flat index ${i}`);
    }
  }
  return tf.reshape(input, input.rank === 4 ? input.shape : [1, ...input.shape]) as tf.Tensor4D;
}

/**
 * Resolve the target class: `'top'` is the class with the highest
 * probability in `probs` (the first on ties); a number must be an integer
 * class index in `[0, probs.length - 1]`.
 *
 * @param target The user's target.
 * @param probs The model's class probabilities on the input.
 * @param fn The function name used in error messages.
 * @throws FgvisArgumentError naming `fn` and `target`.
 */
export function checkTarget(target: unknown, probs: ArrayLike<number>, fn: string): number {
  const numClasses = probs.length;
  if (target === 'top') {
    let best = 0;
    for (let i = 1; i < numClasses; i++) if (probs[i]! > probs[best]!) best = i;
    return best;
  }
  if (typeof target !== 'number' || !Number.isInteger(target) || target < 0 || target >= numClasses) {
    throw new FgvisArgumentError(fn, 'target', `must be 'top' or an integer class index in [0, ${numClasses - 1}], got ${describe(target)}`);
  }
  return target;
}
