/**
 * Models that carry their class names (the built-in models do), so that a
 * target can be a class name without `options.labels`.
 *
 * @packageDocumentation
 */
import { describe, FgvisArgumentError } from '../util/errors';
import { checkLabels } from '../util/input';

/** The class names attached to models with {@link withLabels}. */
const attached = new WeakMap<object, readonly string[]>();

/**
 * Attach class names (in output order) to `model`, so that fgvis's functions
 * take a class name as the target without `options.labels`. Returns `model`
 * itself (not a copy). The built-in models come with theirs.
 */
export function withLabels<M extends object>(model: M, labels: readonly string[]): M {
  if (model === null || (typeof model !== 'object' && typeof model !== 'function')) {
    throw new FgvisArgumentError('withLabels', 'model', `must be a model (an object or a function), got ${describe(model)}`);
  }
  attached.set(model, checkLabels('withLabels', labels, 'labels'));
  return model;
}

/** The class names attached to `model` with {@link withLabels}, if any. */
export function modelLabels(model: unknown): readonly string[] | undefined {
  return model !== null && (typeof model === 'object' || typeof model === 'function') ? attached.get(model) : undefined;
}
