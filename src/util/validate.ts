/**
 * Option validation shared by every public function: unknown names (with a
 * "did you mean"), enumerations, integers and numbers. Every error names the
 * function, the option, what was expected and what was received.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkOptionNames, describe, FgvisArgumentError } from './errors';

export { checkOptionNames } from './errors';

/** Accept `undefined` as `{}`; reject non-objects (and tensors) and unknown option names. */
export function checkOptionsObject<T extends object>(fn: string, options: T | undefined, known: readonly string[]): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || options instanceof tf.Tensor) {
    throw new FgvisArgumentError(fn, 'options', `must be an object, got ${describe(options)}`);
  }
  checkOptionNames(fn, options, known);
  return options;
}

/** `value` must be one of `allowed`. */
export function oneOf<T extends string>(fn: string, name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new FgvisArgumentError(fn, `options.${name}`, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** `value` must be a positive integer. */
export function positiveInteger(fn: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new FgvisArgumentError(fn, `options.${name}`, `must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/** `value` must be a non-negative finite number. */
export function nonNegative(fn: string, name: string, value: unknown): number {
  return finiteNumber(fn, name, value, { min: 0, label: 'a non-negative finite number' });
}

/** `value` must be a finite number in the given range. */
export function finiteNumber(
  fn: string,
  name: string,
  value: unknown,
  range: { min?: number; max?: number; minExclusive?: boolean; label?: string } = {},
): number {
  const { min, max, minExclusive = false } = range;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (min === undefined || (minExclusive ? value > min : value >= min)) &&
    (max === undefined || value <= max);
  if (!ok) {
    const lo = min === undefined ? '' : minExclusive ? ` > ${min}` : ` >= ${min}`;
    const hi = max === undefined ? '' : ` and <= ${max}`;
    throw new FgvisArgumentError(fn, `options.${name}`, `must be ${range.label ?? `a finite number${lo}${hi}`}, got ${describe(value)}`);
  }
  return value as number;
}

/** `t` must be a live tensor (of rank `rank`, when given). */
export function checkLiveTensor(fn: string, argument: string, t: unknown, rank?: number): asserts t is tf.Tensor {
  if (!(t instanceof tf.Tensor)) throw new FgvisArgumentError(fn, argument, `must be a Tensor, got ${describe(t)}`);
  if (t.isDisposed) throw new FgvisArgumentError(fn, argument, 'is a disposed tensor; expected a live (undisposed) tensor');
  if (rank !== undefined && t.rank !== rank) {
    throw new FgvisArgumentError(fn, argument, `must be rank ${rank}, got rank ${t.rank} [${t.shape.join(',')}]`);
  }
}
