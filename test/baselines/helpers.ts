import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/**
 * Run a baseline, inspect its result synchronously (tensors the inspection
 * creates are freed), dispose the result, and check that no tensor is left
 * (the method's own and the result's).
 */
export async function checked<R extends { dispose(): void }>(call: () => Promise<R>, inspect: (r: R) => void = () => {}): Promise<void> {
  const before = tf.memory().numTensors;
  const r = await call();
  try {
    tf.tidy(() => {
      inspect(r);
    });
  } finally {
    r.dispose();
    r.dispose(); // idempotent
  }
  expect(tf.memory().numTensors).toBe(before);
}

/** Check that a call rejects with `pattern` and leaves no tensor behind. */
export async function rejects(call: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  const before = tf.memory().numTensors;
  await expect(call()).rejects.toThrow(pattern);
  expect(tf.memory().numTensors).toBe(before);
}

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
