// withInputGradientKernels: input gradients of a small fused CNN equal the
// stock cpu gradients (bit-identical on cpu, 1e-5 relative on wasm), wasm
// gradients work only with the patches, every kernel is restored (also on
// throw), and nothing leaks.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputGradientPatches, withInputGradientKernels } from '../../src/kernels';
import { describeEachBackend, useBackend, type BackendName } from '../backends';
import { backendDataCount, host, relInf } from './helpers';
import { NET_INPUT_SHAPE, netInputGradient, netWeights } from './net';

const weights = netWeights(100);
const input = host(NET_INPUT_SHAPE, 7);

/** Stock gradient on cpu: the reference for both backends. */
let cpuReference: Float32Array;
beforeAll(async () => {
  await useBackend('cpu');
  cpuReference = netInputGradient(weights, input);
});

function kernelNames(): string[] {
  return [
    'Conv2DBackpropFilter',
    'DepthwiseConv2dNativeBackpropFilter',
    'DepthwiseConv2dNativeBackpropInput',
    'UnsortedSegmentSum',
    'Conv2DBackpropInput',
    'Identity',
    'MaxPoolGrad',
  ];
}

function snapshot(backend: BackendName): (tf.KernelConfig | undefined)[] {
  return kernelNames().map((n) => tf.getKernel(n, backend) ?? undefined);
}

describeEachBackend('withInputGradientKernels', (backend) => {
  it('lists the patches for the backend', () => {
    const names = [...inputGradientPatches(backend).keys()].sort();
    if (backend === 'cpu') {
      expect(names).toEqual(['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter']);
    } else {
      expect(names).toEqual([
        'Conv2DBackpropFilter',
        'Conv2DBackpropInput',
        'DepthwiseConv2dNativeBackpropFilter',
        'DepthwiseConv2dNativeBackpropInput',
        'Identity',
        'MaxPoolGrad',
        'UnsortedSegmentSum',
      ]);
      expect([...inputGradientPatches(backend, { correctMaxPoolGrad: false }).keys()]).not.toContain('MaxPoolGrad');
      expect([...inputGradientPatches(backend, { fastConvBackpropInput: false }).keys()]).not.toContain('Conv2DBackpropInput');
      expect([...inputGradientPatches(backend, { shareSavedTensors: false }).keys()]).not.toContain('Identity');
      expect([...inputGradientPatches(backend, { missingKernels: false }).keys()]).not.toContain('UnsortedSegmentSum');
      // Stable configs: the same objects on every call.
      expect(inputGradientPatches(backend).get('Conv2DBackpropInput')).toBe(inputGradientPatches(backend).get('Conv2DBackpropInput'));
    }
    expect([...inputGradientPatches(backend, { zeroFilterGradients: false }).keys()]).not.toContain('Conv2DBackpropFilter');
  });

  it('installs the patches during f only', () => {
    const before = snapshot(backend);
    const patches = inputGradientPatches(backend);
    withInputGradientKernels(() => {
      for (const [name, patch] of patches) expect(tf.getKernel(name, backend)?.kernelFunc).toBe(patch.kernelFunc);
    });
    expect(snapshot(backend)).toEqual(before);
    snapshot(backend).forEach((k, i) => expect(k).toBe(before[i]));
  });

  if (backend === 'cpu') {
    it('gives bit-identical input gradients on cpu', () => {
      const g = withInputGradientKernels(() => netInputGradient(weights, input));
      expect(Array.from(g)).toEqual(Array.from(cpuReference));
    });
  } else {
    it('fails on wasm without the patches', () => {
      expect(() => netInputGradient(weights, input)).toThrow(/not registered for backend 'wasm'/);
    });

    it('gives input gradients within 1e-5 of the stock cpu gradients on wasm', () => {
      const g = withInputGradientKernels(() => netInputGradient(weights, input));
      expect(relInf(g, cpuReference)).toBeLessThanOrEqual(1e-5);
      const stockConv = withInputGradientKernels(() => netInputGradient(weights, input), { fastConvBackpropInput: false });
      expect(relInf(stockConv, cpuReference)).toBeLessThanOrEqual(1e-5);
    });
  }

  it('restores every kernel after success and after a throw, nested too', () => {
    const before = snapshot(backend);
    const same = () => snapshot(backend).forEach((k, i) => expect(k).toBe(before[i]));
    expect(withInputGradientKernels(() => 42)).toBe(42);
    same();
    expect(() =>
      withInputGradientKernels(() => {
        netInputGradient(weights, input); // a real step first
        throw new Error('boom');
      }),
    ).toThrow('boom');
    same();
    // A throw from inside a gradient computation.
    expect(() =>
      withInputGradientKernels(() =>
        tf.tidy(() =>
          tf.grad((x: tf.Tensor) => {
            tf.relu(x);
            throw new Error('model failed');
          })(tf.ones([2])),
        ),
      ),
    ).toThrow('model failed');
    same();
    withInputGradientKernels(() => {
      const inner = snapshot(backend);
      withInputGradientKernels(() => netInputGradient(weights, input));
      snapshot(backend).forEach((k, i) => expect(k).toBe(inner[i]));
    });
    same();
    // An async f is refused (patches must not be held across an await) and restored.
    expect(() => withInputGradientKernels(() => Promise.resolve(1))).toThrow(/await/);
    same();
  });

  it('leaks no tensors and no backend data in a step', () => {
    withInputGradientKernels(() => netInputGradient(weights, input)); // warm-up
    const tensors = tf.memory().numTensors;
    const data = backendDataCount();
    const buffers = tf.memory().numDataBuffers;
    for (let i = 0; i < 3; i++) withInputGradientKernels(() => netInputGradient(weights, input));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.memory().numDataBuffers).toBe(buffers);
    expect(backendDataCount()).toBe(data);
  });
});

describe('withInputGradientKernels across backends', () => {
  afterAll(async () => {
    await useBackend('cpu');
  });

  it('patches the active backend only', async () => {
    await useBackend('wasm');
    const cpuBefore = tf.getKernel('Conv2DBackpropFilter', 'cpu');
    withInputGradientKernels(() => {
      expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')).toBe(cpuBefore);
      expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    });
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
  });
});
