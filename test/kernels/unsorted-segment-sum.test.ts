// The JavaScript UnsortedSegmentSum kernel (missing on wasm): adjoint of
// gather, equal to the cpu reference kernel, and tf.grad through gather on wasm.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { unsortedSegmentSumKernel, withInputGradientKernels } from '../../src/kernels';
import { swapKernels, withSwaps } from '../../src/util/kernel-registry';
import { describeEachBackend, useBackend } from '../backends';
import { backendDataCount, cpuKernel, dot, host, relInf } from './helpers';

describeEachBackend('UnsortedSegmentSum kernel', (backend) => {
  const patch = unsortedSegmentSumKernel();
  const run = <T>(f: () => T): T => withSwaps([() => swapKernels(backend, new Map([['UnsortedSegmentSum', patch]]))], f);

  it('is the adjoint of gather and equals the cpu reference', () => {
    const x = host([5, 3, 2], 11); // params of gather
    const indices = [4, 0, 4, 2, 2, 2, 1];
    const dy = host([indices.length, 3, 2], 12);
    const ref = cpuKernel('UnsortedSegmentSum', { x: dy, segmentIds: { values: Float32Array.from(indices), shape: [7] } }, { numSegments: 5 });
    const tensors = tf.memory().numTensors;
    const data = backendDataCount();
    const { y, dx } = run(() =>
      tf.tidy(() => {
        const ids = tf.tensor1d(indices, 'int32');
        const y = tf.gather(tf.tensor(x.values, x.shape), ids).dataSync();
        const dx = tf.unsortedSegmentSum(tf.tensor(dy.values, dy.shape), ids, 5);
        expect(dx.shape).toEqual([5, 3, 2]);
        return { y, dx: dx.dataSync() };
      }),
    );
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backendDataCount()).toBe(data);
    const lhs = dot(y, dy.values);
    expect(Math.abs(lhs.value - dot(x.values, dx).value)).toBeLessThanOrEqual(1e-5 * lhs.scale);
    expect(relInf(dx, ref.values)).toBeLessThanOrEqual(1e-6);
  });

  it('drops out-of-range ids and sums int32', () => {
    const r = run(() =>
      tf.tidy(() => {
        const t = tf.engine().runKernel(
          'UnsortedSegmentSum',
          { x: tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], 'int32'), segmentIds: tf.tensor1d([1, -1, 1, 3], 'int32') },
          { numSegments: 3 },
        ) as tf.Tensor;
        return { dtype: t.dtype, values: Array.from(t.dataSync()) };
      }),
    );
    expect(r).toEqual({ dtype: 'int32', values: [0, 0, 6, 8, 0, 0] });
  });
});

it('makes tf.grad through gather work on wasm, equal to cpu', async () => {
  const x = host([2, 6, 5, 3], 21);
  const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d([2, 1, 0, 2], 'int32'), 3), tf.range(0, 4)));
  const grad = () => tf.tidy(() => tf.grad(f)(tf.tensor(x.values, x.shape)).dataSync());
  await useBackend('cpu');
  const ref = grad();
  await useBackend('wasm');
  expect(grad).toThrow(/UnsortedSegmentSum/);
  const g = withInputGradientKernels(grad);
  expect(relInf(g, ref)).toBeLessThanOrEqual(1e-6);
});
