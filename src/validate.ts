/**
 * Option validation shared by every public function: unknown names (with a
 * "did you mean"), enumerations, integers and numbers. Every error names the
 * function, the option, what was expected and what was received.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError } from './errors';

/** Levenshtein distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** Reject option names that are not known, suggesting the closest known one. */
export function checkOptionNames(fn: string, options: object, known: readonly string[], prefix = 'options'): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const closest = [...known].sort((a, b) => distance(key, a) - distance(key, b))[0];
    const hint = closest !== undefined && distance(key, closest) <= 3 ? ` (did you mean '${closest}'?)` : '';
    throw new FgvisArgumentError(fn, `${prefix}.${key}`, `is not a known option${hint}; known options: ${known.join(', ')}`);
  }
}

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
