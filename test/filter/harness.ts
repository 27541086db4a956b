/**
 * Shared helpers of the gradient-filter tests: an independent oracle (gated
 * activations written with tf.customGrad and hand-written derivatives), a
 * registry snapshot, and access to the input-gradient kernel patches.
 */
import * as tf from '@tensorflow/tfjs-core';
import { withInputGradientKernels } from '../../src/kernels';
import { getGradient, type GradConfig } from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { DEFAULT_GATED_KERNELS } from '../../src/filter';
import type { ReferenceActivation } from '../fixtures/graph-model';
import { plainActivation } from '../fixtures/graph-model';

export type Kind = Parameters<ReferenceActivation>[0];
export type ActParams = Parameters<ReferenceActivation>[2];

const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_SCALEALPHA = 1.7580993408473768599402175208123;

/**
 * Vector-Jacobian product of each activation, written independently of the
 * tfjs gradient registry: dL/dx given g = dL/dy, the input x and output y.
 */
export function activationVjp(kind: Kind, x: tf.Tensor, y: tf.Tensor, g: tf.Tensor, p: ActParams): tf.Tensor {
  const zero = tf.zerosLike(g);
  const pos = tf.greater(x, 0);
  switch (kind) {
    case 'Relu':
      return tf.where(pos, g, zero);
    case 'Relu6':
      return tf.where(tf.logicalAnd(pos, tf.lessEqual(x, 6)), g, zero);
    case 'LeakyRelu':
      return tf.where(pos, g, tf.mul(g, p.alpha as number));
    case 'Elu':
      return tf.where(pos, g, tf.mul(g, tf.add(y, 1)));
    case 'Prelu':
      return tf.where(pos, g, tf.mul(g, tf.broadcastTo(p.alpha as tf.Tensor, g.shape)));
    case 'Selu':
      return tf.where(pos, tf.mul(g, SELU_SCALE), tf.mul(tf.mul(g, SELU_SCALEALPHA), tf.exp(x)));
    case 'ClipByValue':
      return tf.where(tf.logicalAnd(tf.greaterEqual(x, p.min!), tf.lessEqual(x, p.max!)), g, zero);
  }
}

/** The oracle: activation `kind` whose backward multiplies g by [lo <= y <= hi] before the VJP. */
export function gatedActivation(kind: Kind, p: ActParams, lo: tf.Tensor, hi: tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = plainActivation(kind, x, p);
    // A tensor alpha (Prelu) may be disposed before the backward pass: save it too.
    const alpha = p.alpha instanceof tf.Tensor ? p.alpha : null;
    save(alpha ? [x, y, alpha] : [x, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy, sAlpha] = saved as [tf.Tensor, tf.Tensor, tf.Tensor | undefined];
        const inside = tf.logicalAnd(tf.greaterEqual(sy, lo), tf.lessEqual(sy, hi));
        const g = tf.where(inside, dy, tf.zerosLike(dy));
        return [activationVjp(kind, sx, sy, g, sAlpha ? { ...p, alpha: sAlpha } : p)];
      },
    };
  }) as unknown as CustomGradient) as (x: tf.Tensor) => tf.Tensor;
}

/** The parameter type of tf.customGrad (its element type is a union that single-input functions do not match). */
export type CustomGradient = Parameters<typeof tf.customGrad>[0];

/** A model written as `forward(x, act)`, with every activation computed by `act`. */
export type ReferenceModel = (x: tf.Tensor4D, act: ReferenceActivation) => tf.Tensor;

export interface OracleBound {
  kind: Kind;
  lo: tf.Tensor;
  hi: tf.Tensor;
}

/** Bounds min(0, h(x)), max(0, h(x)) of every activation of `model` at x, in FORWARD order (kept tensors). */
export function oracleBounds(model: ReferenceModel, x: tf.Tensor4D): OracleBound[] {
  const out: OracleBound[] = [];
  tf.tidy(() => {
    model(x, (kind, pre, p) => {
      const y = plainActivation(kind, pre, p);
      out.push({ kind, lo: tf.keep(tf.minimum(y, 0)), hi: tf.keep(tf.maximum(y, 0)) });
      return y;
    });
  });
  return out;
}

/** The oracle's gradient of `score(model(e))` w.r.t. e, every activation gated by `bounds` (forward order). */
export function oracleGradient(
  model: ReferenceModel,
  e: tf.Tensor4D,
  bounds: readonly OracleBound[],
  score: (y: tf.Tensor) => tf.Scalar,
  stats?: { blocked: number; total: number },
): tf.Tensor {
  return tf.grad((z: tf.Tensor) => {
    let i = 0;
    return score(
      model(z as tf.Tensor4D, (kind, pre, p) => {
        const b = bounds[i++]!;
        expect(kind).toBe(b.kind);
        if (stats) {
          const y = plainActivation(kind, pre, p);
          const inside = tf.logicalAnd(tf.greaterEqual(y, b.lo), tf.lessEqual(y, b.hi));
          stats.total += y.size;
          stats.blocked += y.size - tf.sum(tf.cast(inside, 'int32')).dataSync()[0]!;
        }
        return gatedActivation(kind, p, b.lo, b.hi)(pre);
      }),
    );
  })(e);
}

/** Score used by the model tests: the softmax score of one class. */
export function classScore(c: number): (y: tf.Tensor) => tf.Scalar {
  return (y) => tf.sum(tf.slice(y, [0, c], [1, 1])) as tf.Scalar;
}

/** The gradient configs of the activation family, to check they are restored by identity. */
export function snapshotRegistry(): Map<string, GradConfig | undefined> {
  return new Map(DEFAULT_GATED_KERNELS.map((k) => [k, getGradient(k) ?? undefined]));
}

export function expectRegistryRestored(snapshot: Map<string, GradConfig | undefined>): void {
  for (const [k, config] of snapshot) expect(getGradient(k) ?? undefined, k).toBe(config);
}

/** Largest absolute difference and largest magnitude, read synchronously (tests only). */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}
export function maxAbs(a: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0]!);
}

/** Dispose the tensors of a list of oracle bounds. */
export function disposeOracle(bounds: OracleBound[]): void {
  for (const b of bounds) tf.dispose([b.lo, b.hi]);
}

export type Wrap = <T>(f: () => T) => T;
const identity: Wrap = (f) => f();

/**
 * Conv-net input gradients need the kernel patches on wasm (it lacks
 * Conv2DBackpropFilter and the depthwise backprop kernels); on cpu they are not
 * needed, and the tests run unpatched there so that the filter is checked alone.
 */
export function inputGradientKernelsFor(backend: string): Wrap {
  return backend === 'wasm' ? withInputGradientKernels : identity;
}
