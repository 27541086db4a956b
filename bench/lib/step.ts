// A replica of one explain() step (src/explain.ts computeStep + optimizer +
// projection), built from the library's own pieces, with phase timing hooks.
// Used by the benchmark for the forward / backward / rest breakdown and the
// same-run ablation. Keep it in sync with src/explain-run.ts.
import * as tf from '@tensorflow/tfjs-core';
import { GradientFilter, type GradientFilterOptions } from '../../src/filter';
import { withInputGradientKernels, type InputGradientKernelOptions } from '../../src/kernels';
import { AutoLambda, scoreGoal } from '../../src/lambda';
import { buildLoss } from '../../src/loss';
import { composeExplanation, createMask, type Mask } from '../../src/mask';
import { selectClass, type ScoreModel } from '../../src/model';
import { adam, type Optimizer } from '../../src/optimize';

export interface PhaseTimes {
  forward: number;
  backward: number;
  rest: number;
}

export interface ReplicaStep {
  /** One synchronous step (+ a tiny read so that the work is done); returns phase times in ms. */
  step(): PhaseTimes;
  dispose(): void;
}

export function replicaStep(scorer: ScoreModel, x: tf.Tensor4D, target: number, opts: { defense: boolean; kernels?: InputGradientKernelOptions; filter?: GradientFilterOptions }): ReplicaStep {
  const imageProbs = tf.tidy(() => scorer.probs(x));
  const loss = buildLoss({ game: 'preservation', classTerm: 'log-score', target, imageProbs });
  const auto = new AutoLambda(scoreGoal('preservation', 0.9, 0.1));
  const mask: Mask = createMask(x.shape);
  const filter = opts.defense ? new GradientFilter(opts.filter ?? {}) : null;
  const optimizer: Optimizer = adam({ learningRate: 0.1 });
  let tForwardEnd = 0;
  const classGradient = (param: tf.Tensor) => {
    let score: tf.Scalar | null = null;
    const f = (p: tf.Tensor) => {
      const lp = scorer.logProbs(composeExplanation(mask.valuesOf(p), x, null) as tf.Tensor4D);
      score = tf.keep(tf.exp(selectClass(lp, target)));
      const out = loss.classTerm(lp);
      tForwardEnd = performance.now();
      return out;
    };
    const compute = () => tf.valueAndGrad(f)(param);
    const out = withInputGradientKernels(() => (filter ? filter.run(compute) : compute()), opts.kernels);
    return { ...out, score: score! };
  };
  const step = (): PhaseTimes => {
    const t0 = performance.now();
    const { value, grad, score } = classGradient(mask.param);
    const t1 = performance.now();
    const out = tf.tidy(() => {
      const lambda = auto.lambda;
      const { value: sp, grad: sg } = tf.valueAndGrad((p: tf.Tensor) => loss.sparsity(mask.valuesOf(p)))(mask.param);
      const m = mask.values();
      const rec = [tf.add(value, tf.mul(lambda, sp)), tf.clone(score), tf.mean(m), tf.clone(lambda)];
      const g = tf.add(grad, tf.mul(lambda, sg));
      const r = tf.stack(rec);
      return { grad: g, rec: r, m, sp };
    });
    auto.observe(out.m, score, out.sp as tf.Scalar);
    tf.dispose([value, grad, score, out.m, out.sp]);
    optimizer.apply(mask.param, out.grad);
    out.grad.dispose();
    mask.project();
    out.rec.dataSync();
    out.rec.dispose();
    const t2 = performance.now();
    return { forward: tForwardEnd - t0, backward: t1 - tForwardEnd, rest: t2 - t1 };
  };
  return {
    step,
    dispose() {
      tf.dispose([imageProbs]);
      auto.dispose();
      mask.dispose();
      filter?.dispose();
      optimizer.dispose();
    },
  };
}
