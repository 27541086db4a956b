/**
 * Asynchronous reads of small tensors (scores, means) that free the tensor
 * afterwards: never a synchronous device read.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';

/** Read a tensor's values asynchronously (a copy) and dispose it. */
export async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  try {
    return Float32Array.from((await t.data()) as ArrayLike<number>);
  } finally {
    t.dispose();
  }
}

/** Read a scalar (or the first value) of a tensor asynchronously and dispose it. */
export async function readScalar(t: tf.Tensor): Promise<number> {
  try {
    return (await t.data())[0]!;
  } finally {
    t.dispose();
  }
}
