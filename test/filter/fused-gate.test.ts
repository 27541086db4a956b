// The one-pass gate (fused: true, the default on cpu and wasm) gives the same
// filtered gradients as the op-by-op gate, for the fused Relu / Relu6 path and
// the generic path (LeakyRelu, ClipByValue with a negative minimum), and stores
// no lower bound for non-negative activations.
import * as tf from '@tensorflow/tfjs-core';
import { ACTIVATION_KERNELS } from '../../src/filter';

/** The oracle gates the activations only: hook exactly those. */
const ORACLE = { gatedKernels: ACTIVATION_KERNELS };
import { expect, it } from 'vitest';
import { captureBounds, withGradientFilter } from '../../src/filter';
import { setSimdGate, simdGateAvailable } from '../../src/filter/fast-gate';
import { NonNegativeBound, SignedBound } from '../../src/filter/bounds';
import { describeEachBackend } from '../backends';

function model(seed: number) {
  const w = (shape: number[], s: number) => tf.keep(tf.randomNormal(shape, 0, 0.5, 'float32', seed + s));
  const W = [w([3, 3, 2, 6], 1), w([3, 3, 6, 6], 2), w([1, 1, 6, 6], 3), w([1, 1, 6, 4], 4), w([4, 3], 5)];
  const f = (x: tf.Tensor) => {
    let h: tf.Tensor4D = tf.relu(tf.conv2d(x as tf.Tensor4D, W[0] as tf.Tensor4D, 1, 'same'));
    h = tf.relu6(tf.mul(tf.conv2d(h, W[1] as tf.Tensor4D, 1, 'same'), 4)) as tf.Tensor4D;
    h = tf.leakyRelu(tf.conv2d(h, W[2] as tf.Tensor4D, 1, 'same'), 0.2);
    h = tf.clipByValue(tf.conv2d(h, W[3] as tf.Tensor4D, 1, 'same'), -0.5, 0.7);
    const logits = tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, W[4] as tf.Tensor2D);
    return tf.sum(tf.slice(tf.logSoftmax(logits), [0, 1], [1, 1])) as tf.Scalar;
  };
  return { f, dispose: () => tf.dispose(W) };
}

describeEachBackend('fused gate', () => {
  it('equals the op-by-op gate', () => {
    const m = model(3);
    const x = tf.randomUniform([1, 9, 9, 2], -1, 1, 'float32', 5);
    const e = tf.tidy(() => tf.mul(x, tf.randomUniform(x.shape, 0, 1, 'float32', 6)));
    const grad = (z: tf.Tensor) => tf.grad(m.f)(z);
    const { result: gx, bounds } = captureBounds(() => grad(x), ORACLE);
    expect(bounds.entries.map((b) => b.kernel)).toEqual(['ClipByValue', 'LeakyRelu', 'Relu6', 'Relu']);
    expect(bounds.entries.map((b) => b instanceof NonNegativeBound)).toEqual([false, false, true, true]);
    // cpu and wasm gate in one pass: a signed output's bounds are the output itself.
    expect(bounds.entries.map((b) => b instanceof SignedBound)).toEqual([true, true, false, false]);
    expect(Array.from(bounds.entries[3]!.lo.dataSync()).every((v) => v === 0)).toBe(true);
    const fused = withGradientFilter(bounds, () => grad(e)).result;
    const ops = withGradientFilter(bounds, () => grad(e), { fused: false }).result;
    const a = fused.dataSync();
    const b = ops.dataSync();
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    expect(maxDiff).toBe(0);
    // The filter did block something (otherwise the test proves little).
    const plain = grad(e).dataSync();
    let differs = false;
    for (let i = 0; i < a.length; i++) if (a[i] !== plain[i]) differs = true;
    expect(differs).toBe(true);
    tf.dispose([x, e, gx, fused, ops]);
    bounds.dispose();
    m.dispose();
  });

  it('gives the same gradients bit for bit with the WebAssembly SIMD gate (wasm) as with the JavaScript loop', (ctx) => {
    if (tf.getBackend() !== 'wasm') ctx.skip();
    expect(simdGateAvailable()).toBe(true);
    const m = model(11);
    const x = tf.randomUniform([1, 13, 11, 2], -1, 1, 'float32', 12);
    const e = tf.tidy(() => tf.mul(x, tf.randomUniform(x.shape, 0, 1, 'float32', 13)));
    const grad = (z: tf.Tensor) => tf.grad(m.f)(z);
    // Every layer output gated (the default list), as in explain().
    const { result: gx, bounds } = captureBounds(() => grad(x));
    try {
      const simd = withGradientFilter(bounds, () => grad(e)).result;
      const previous = setSimdGate(false);
      const js = (() => {
        try {
          return withGradientFilter(bounds, () => grad(e)).result;
        } finally {
          setSimdGate(previous);
        }
      })();
      const bits = (t: tf.Tensor) => {
        const v = t.dataSync() as Float32Array;
        return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
      };
      expect(bits(simd)).toEqual(bits(js));
      tf.dispose([simd, js]);
    } finally {
      tf.dispose([x, e, gx]);
      bounds.dispose();
      m.dispose();
    }
  });

  it('keeps one tensor per signed output; lo and hi are made on first read, once, and released with the bounds', () => {
    const m = model(5);
    const x = tf.randomUniform([1, 7, 7, 2], -1, 1, 'float32', 8);
    const grad = (z: tf.Tensor) => tf.grad(m.f)(z);
    const before = tf.memory().numTensors;
    const { result: gx, bounds } = captureBounds(() => grad(x), ORACLE);
    gx.dispose();
    // ClipByValue [-0.5, 0.7] and LeakyRelu: signed (1 tensor each); Relu6, Relu: hi only.
    expect(tf.memory().numTensors - before).toBe(4);
    const signed = bounds.entries[1] as SignedBound;
    expect(signed).toBeInstanceOf(SignedBound);
    const lo = signed.lo;
    const hi = signed.hi;
    expect(signed.lo).toBe(lo);
    expect(signed.hi).toBe(hi);
    expect(tf.memory().numTensors - before).toBe(6);
    const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
    tf.tidy(() => {
      expect(bits(lo)).toEqual(bits(tf.minimum(signed.value, 0)));
      expect(bits(hi)).toEqual(bits(tf.maximum(signed.value, 0)));
    });
    bounds.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    m.dispose();
  });
});
