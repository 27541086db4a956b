// The zero filter-gradient stubs: zeros of the filter shape allocated by the
// backend, no leaks, and filter gradients are zero (by design) while patched.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { withInputGradientKernels, zeroFilterGradientKernel } from '../../src/kernels';
import { describeEachBackend } from '../backends';
import { backendDataCount } from './helpers';

describeEachBackend('zero filter-gradient stub', (backend) => {
  it('returns float32 zeros of filterShape through the backend, one buffer', () => {
    const stub = zeroFilterGradientKernel(backend);
    const data = backendDataCount();
    const out = stub.kernelFunc({ inputs: {}, backend: tf.backend(), attrs: { filterShape: [3, 2, 4, 5] } }) as tf.TensorInfo;
    expect(out.shape).toEqual([3, 2, 4, 5]);
    expect(out.dtype).toBe('float32');
    expect(backendDataCount()).toBe(data + 1);
    const values = tf.backend().readSync(out.dataId) as Float32Array;
    expect(values.length).toBe(120);
    expect(values.every((v) => v === 0)).toBe(true);
    tf.backend().disposeData(out.dataId);
    expect(backendDataCount()).toBe(data);
  });

  it('rejects a missing filterShape clearly', () => {
    const stub = zeroFilterGradientKernel(backend);
    expect(() => stub.kernelFunc({ inputs: {}, backend: tf.backend(), attrs: {} })).toThrow(/filterShape/);
  });

  it('makes filter gradients zero while patched (fused linear conv, depthwise)', () => {
    const tensors = tf.memory().numTensors;
    const [gw, gd] = withInputGradientKernels(() =>
      tf.tidy(() => {
        const x = tf.randomNormal([1, 6, 6, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
        const b = tf.ones([3]);
        const d = tf.randomNormal([3, 3, 2, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
        const gs = tf.grads((w: tf.Tensor, dw: tf.Tensor) =>
          tf.sum(
            tf.fused.depthwiseConv2d({
              x: tf.slice(tf.fused.conv2d({ x, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: b }), [0, 0, 0, 0], [1, 6, 6, 2]),
              filter: dw as tf.Tensor4D,
              strides: 1,
              pad: 'same',
            }),
          ),
        )([tf.randomNormal([3, 3, 2, 3], 0, 1, 'float32', 2), d]);
        return gs.map((g) => Array.from(g.dataSync()));
      }),
    );
    expect(gw!.every((v) => v === 0)).toBe(true);
    expect(gd!.every((v) => v === 0)).toBe(true);
    expect(tf.memory().numTensors).toBe(tensors);
  });
});
