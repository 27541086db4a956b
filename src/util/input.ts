/**
 * Validation shared by every method with fgvis's call shape
 * `(model, input, target, options)`: the input image and the target class.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { closestName, describe, FgvisArgumentError } from './errors';

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

/** The class to explain: an index, `'top'` for the model's predicted class, or a class name (with labels). */
export type Target = number | 'top' | (string & {});

/**
 * Resolve the target class: `'top'` is the class with the highest
 * probability in `probs` (the first on ties); a number must be an integer
 * class index in `[0, probs.length - 1]`; any other string is a class name,
 * looked up in `labels` (see {@link classIndex}).
 *
 * @param target The user's target.
 * @param probs The model's class probabilities on the input.
 * @param fn The function name used in error messages.
 * @param labels The model's class names in output order, if known (`options.labels` or the model's own).
 * @param argument The target's name in error messages; default `'target'`.
 * @throws FgvisArgumentError naming `fn` and `target`.
 */
export function checkTarget(target: unknown, probs: ArrayLike<number>, fn: string, labels?: readonly string[], argument = 'target'): number {
  const numClasses = probs.length;
  if (labels !== undefined && labels.length !== numClasses) {
    throw new FgvisArgumentError(fn, 'options.labels', `has ${labels.length} class names, but the model has ${numClasses} classes`);
  }
  if (target === 'top') {
    let best = 0;
    for (let i = 1; i < numClasses; i++) if (probs[i]! > probs[best]!) best = i;
    return best;
  }
  if (typeof target === 'string' && labels !== undefined) return classIndex(fn, target, labels, argument);
  if (typeof target !== 'number' || !Number.isInteger(target) || target < 0 || target >= numClasses) {
    const kinds = labels === undefined ? `'top' or an integer class index in [0, ${numClasses - 1}]` : `'top', an integer class index in [0, ${numClasses - 1}] or a class name`;
    const noNames = typeof target === 'string' ? ' (a class name needs the class names: pass options.labels, in output order)' : '';
    throw new FgvisArgumentError(fn, argument, `must be ${kinds}${noNames}, got ${describe(target)}`);
  }
  return target;
}

/** `labels` must be a non-empty array of non-empty strings; returns a frozen copy. */
export function checkLabels(fn: string, labels: unknown, argument = 'options.labels'): readonly string[] {
  if (!Array.isArray(labels) || labels.length === 0 || labels.some((l) => typeof l !== 'string' || l.length === 0)) {
    throw new FgvisArgumentError(fn, argument, `must be a non-empty array of class names (strings), got ${describe(labels)}`);
  }
  return Object.freeze(labels.slice() as string[]);
}

/**
 * The index of class `name` in `labels`, matched exactly, else
 * case-insensitively. Throws an `FgvisArgumentError` naming the known names,
 * with a "did you mean" for a near miss.
 */
export function classIndex(fn: string, name: string, labels: readonly string[], argument = 'target'): number {
  const exact = labels.indexOf(name);
  if (exact >= 0) return exact;
  const lower = name.toLowerCase();
  const index = labels.findIndex((l) => l.toLowerCase() === lower);
  if (index >= 0) return index;
  const hint = closestName(name, labels, 3, true);
  throw new FgvisArgumentError(
    fn,
    argument,
    `${describe(name)} is not a class name${hint === undefined ? '' : ` (did you mean '${hint}'?)`}; known names: ${labels.join(', ')} (or an index, or 'top')`,
  );
}
