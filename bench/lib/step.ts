// The benchmark's step: explain()'s own step (src/core/step.ts explainStep, the
// optimiser update and the projection) on a prepared one-item run, with phase
// timing hooks. Used for the forward / backward / rest breakdown and the
// same-run ablation (kernel and filter variants through the run's tuning).
import * as tf from '@tensorflow/tfjs-core';
import { resolveExplainOptions, type ExplainOptions } from '../../src/core/options';
import { prepareRun, type RunTuning } from '../../src/core/prepare';
import { captureBoundsAtImage, explainStep } from '../../src/core/step';
import type { ExplainableModel } from '../../src/model/adapter';

export interface PhaseTimes {
  forward: number;
  backward: number;
  rest: number;
}

export interface TimedStep {
  /** One step, then a small synchronous read so that the work is done; returns phase times in ms. */
  step(): PhaseTimes;
  dispose(): void;
}

/** A one-item run of `explain(model, x, target, options)` whose steps can be timed one by one. */
export async function timedStep(model: ExplainableModel, x: tf.Tensor4D, target: number, options: ExplainOptions, tuning: RunTuning = {}): Promise<TimedStep> {
  const o = resolveExplainOptions(options, 'bench');
  const run = await prepareRun(model, x, [{ image: 0, target }], o, 'bench', x.shape, tuning);
  captureBoundsAtImage(run);
  const optimizer = run.items[0]!.optimizer;
  const step = (): PhaseTimes => {
    const t0 = performance.now();
    let tForward = t0;
    let tBackward = t0;
    const out = explainStep(run, { forward: () => (tForward = performance.now()), backward: () => (tBackward = performance.now()) });
    try {
      optimizer.apply(run.mask.param, out.grad);
      run.mask.project();
      tf.tidy(() => tf.stack(Object.values(out.record).map((t) => tf.reshape(t, [-1]))).dataSync());
    } finally {
      tf.dispose([out.grad, ...Object.values(out.record)]);
    }
    const t2 = performance.now();
    return { forward: tForward - t0, backward: tBackward - tForward, rest: t2 - tBackward };
  };
  return { step, dispose: () => run.dispose() };
}
