// Prototype of a batched FGVis step (NOT in explain.ts): N masks of one image
// through the model at once, one backward pass, one Adam update on the [N,...]
// mask, clip. Used to measure throughput per explanation against N single steps.
import * as tf from '@tensorflow/tfjs-core';
import { GradientFilter } from '../../src/filter';
import { withInputGradientKernels } from '../../src/kernels';
import { adam } from '../../src/optimize';

/** The model's raw batched forward: GraphModel.execute / LayersModel.apply / function. */
export function batchedForward(model: unknown): (x: tf.Tensor4D) => tf.Tensor2D {
  const m = model as { execute?: (x: tf.Tensor) => tf.Tensor; apply?: (x: tf.Tensor, a?: unknown) => tf.Tensor; layers?: unknown[] };
  if (Array.isArray(m.layers) && typeof m.apply === 'function') return (x) => m.apply!(x, { training: false }) as tf.Tensor2D;
  if (typeof m.execute === 'function') return (x) => m.execute!(x) as tf.Tensor2D;
  return model as (x: tf.Tensor4D) => tf.Tensor2D;
}

export interface BatchStep {
  step(): number;
  dispose(): void;
}

/** A step over `n` masks of `x` ([1,H,W,C]) for targets `targets[i % targets.length]`; probabilities out of the model. */
export function batchStep(model: unknown, x: tf.Tensor4D, n: number, targets: number[], defense: boolean): BatchStep {
  const forward = batchedForward(model);
  const xs = tf.tidy(() => tf.tile(x, [n, 1, 1, 1]) as tf.Tensor4D);
  const mask = tf.variable(tf.onesLike(xs), true);
  const filter = defense ? new GradientFilter() : null;
  const opt = adam({ learningRate: 0.1 });
  const lambda = tf.scalar(1);
  let oneHotSized: tf.Tensor | null = null;
  const step = (): number => {
    const t0 = performance.now();
    const compute = () =>
      tf.valueAndGrad((m: tf.Tensor) => {
        const p = forward(tf.mul(m, xs) as tf.Tensor4D);
        if (oneHotSized === null) oneHotSized = tf.keep(tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => targets[i % targets.length]!), 'int32'), p.shape[1]!), 'float32'));
        const logp = tf.log(tf.maximum(tf.sum(tf.mul(p, oneHotSized), 1), 1e-30));
        return tf.add(tf.neg(tf.sum(logp)), tf.mul(lambda, tf.mean(m))) as tf.Scalar;
      })(mask);
    const { value, grad } = withInputGradientKernels(() => (filter ? filter.run(compute) : compute()));
    opt.apply(mask, grad);
    tf.tidy(() => mask.assign(tf.clipByValue(mask, 0, 1)));
    value.dataSync();
    tf.dispose([value, grad]);
    return performance.now() - t0;
  };
  return {
    step,
    dispose() {
      tf.dispose([xs, mask, lambda]);
      oneHotSized?.dispose();
      filter?.dispose();
      opt.dispose();
    },
  };
}
