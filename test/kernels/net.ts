// A small CNN built from host weights on the active backend, with the fused
// ops a converted GraphModel contains: fused conv2d / depthwise conv2d with
// linear and non-linear activations, a channel multiplier, strides, a plain
// depthwise conv, mean pooling and a fused matMul head.
import * as tf from '@tensorflow/tfjs-core';
import { host, type HostArray } from './helpers';

export interface NetWeights {
  [name: string]: HostArray;
}

export function netWeights(seed: number): NetWeights {
  return {
    w1: host([3, 3, 3, 8], seed + 1),
    b1: host([8], seed + 2),
    w2: host([3, 3, 8, 1], seed + 3),
    b2: host([8], seed + 4),
    w3: host([3, 3, 8, 2], seed + 5),
    b3: host([16], seed + 6),
    w4: host([1, 1, 16, 12], seed + 7),
    b4: host([12], seed + 8),
    w5: host([3, 3, 12, 1], seed + 9),
    w6: host([2, 2, 12, 10], seed + 10),
    b6: host([10], seed + 11),
    w7: host([10, 5], seed + 12),
    b7: host([5], seed + 13),
  };
}

/** Score of class 2 summed over the batch; x is NHWC with 3 channels. */
export function net(weights: NetWeights): (x: tf.Tensor4D) => tf.Scalar {
  const t = (name: string) => tf.tensor(weights[name]!.values, weights[name]!.shape);
  return (x) => {
    let h: tf.Tensor4D = tf.fused.conv2d({ x, filter: t('w1') as tf.Tensor4D, strides: 2, pad: 'same', bias: t('b1') });
    h = tf.fused.depthwiseConv2d({ x: h, filter: t('w2') as tf.Tensor4D, strides: 1, pad: 'same', bias: t('b2'), activation: 'relu' });
    h = tf.fused.depthwiseConv2d({ x: h, filter: t('w3') as tf.Tensor4D, strides: 2, pad: 'valid', bias: t('b3') });
    h = tf.fused.conv2d({ x: h, filter: t('w4') as tf.Tensor4D, strides: 1, pad: 'same', bias: t('b4'), activation: 'leakyrelu', leakyreluAlpha: 0.1 });
    h = tf.depthwiseConv2d(h, t('w5') as tf.Tensor4D, 1, 'same');
    h = tf.fused.conv2d({ x: h, filter: t('w6') as tf.Tensor4D, strides: 1, pad: 'same', bias: t('b6'), activation: 'relu6' });
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    const logits = tf.fused.matMul({ a: pooled, b: t('w7') as tf.Tensor2D, bias: t('b7') });
    const probs = tf.softmax(logits);
    return tf.sum(tf.slice(probs, [0, 2], [-1, 1]));
  };
}

export const NET_INPUT_SHAPE: [number, number, number, number] = [2, 17, 15, 3];

/** Input gradient of the net on the active backend, read back to the host. */
export function netInputGradient(weights: NetWeights, x: HostArray): Float32Array {
  return tf.tidy(() => {
    const f = net(weights);
    const g = tf.grad((xi: tf.Tensor) => f(xi as tf.Tensor4D))(tf.tensor4d(x.values, NET_INPUT_SHAPE));
    return g.dataSync() as Float32Array;
  });
}
