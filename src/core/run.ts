/**
 * The FGVis run behind `explain()` and `explainBatch()`, in three stages:
 * {@link prepareRun} (the model, targets, references, mask, filter and each
 * item's state), the optimiser loop over {@link explainStep}, and
 * {@link collectResults}. B explanations (items: an image of the batch and
 * a class) are optimised together, one batched forward and filtered backward
 * pass per step. Each item keeps its own optimiser state, automatic lambda,
 * early stopping and back-off guard, so its result does not depend on the
 * others; only the model calls are shared. An item that has stopped is
 * frozen (its rows no longer change) until the last one stops. With one
 * item this is `explain()`.
 *
 * @packageDocumentation
 */
import type * as tf from '@tensorflow/tfjs-core';
import { FgvisModelError } from '../util/errors';
import type { ExplainableModel } from '../model/adapter';
import { collectResults } from './collect';
import type { Explanation, RunItem } from './explanation';
import { optimize, rowOptimizer, type StepRecord } from './optimize';
import type { ExplainStep, ResolvedExplainOptions } from './options';
import { prepareRun, type ItemState, type Run } from './prepare';
import { captureBoundsAtImage, explainStep } from './step';

/** Check one read record (a non-finite loss, score or gradient stops the run there) and keep it. */
async function takeRecord(run: Run, i: number, r: StepRecord): Promise<void> {
  const s = run.items[i]!;
  if (!s.active) return;
  const { gradientCheck, ...rest } = r;
  const rec = rest as ExplainStep;
  const bad = (['loss', 'score'] as const).find((k) => !Number.isFinite(rec[k])) ?? (Number.isFinite(gradientCheck) ? undefined : 'gradientCheck');
  if (bad !== undefined) {
    const what = bad === 'gradientCheck' ? 'the gradient of the loss became non-finite (NaN or Infinity)' : `the ${bad} became ${rec[bad]}`;
    throw new FgvisModelError(
      run.fn,
      `${what} at step ${rec.step}${run.items.length > 1 ? ` (explanation ${i} of the batch)` : ''}: the model's output or its gradient overflowed on the explanation; ` +
        'check the model on inputs between the image and the reference, or try a smaller options.learningRate',
    );
  }
  s.history.push(rec);
  s.steps = rec.step;
  s.control.observe(rec);
  await run.options.onStep?.(rec, s.live);
}

/** Act on what each active item's control says after a read: back off, or stop it. True when every item has stopped. */
function steer(run: Run): boolean {
  run.items.forEach((s: ItemState, i) => {
    if (!s.active) return;
    const backoff = run.options.backoff;
    if (s.control.backoffDue && backoff && s.auto?.restoreBest((values) => run.assignRow(i, values), backoff.lambdaFactor)) {
      s.control.backedOff();
      s.optimizer.reset();
      s.optimizer.learningRate *= backoff.learningRateFactor;
    }
    if (s.control.shouldStop) s.active = false;
  });
  return run.items.every((s) => !s.active);
}

/**
 * Run FGVis on `items` together. `images` is `[N,H,W,C]` (not disposed);
 * each result's tensors have shape `itemShape` (the shape of one image as
 * the user gave it). Returns one {@link Explanation} per item, in order.
 */
export async function runExplanations(
  model: ExplainableModel,
  images: tf.Tensor4D,
  items: readonly RunItem[],
  o: ResolvedExplainOptions,
  fn: string,
  itemShape: readonly number[],
): Promise<Explanation[]> {
  const run = await prepareRun(model, images, items, o, fn, itemShape);
  try {
    captureBoundsAtImage(run);
    const { steps } = await optimize(run.mask.param, {
      steps: o.steps,
      optimizer: rowOptimizer(run.items.map((s) => s.optimizer), (i) => run.items[i]!.active),
      items: run.items.length,
      signal: o.signal,
      readEvery: o.readEvery,
      computeStep: () => explainStep(run),
      afterUpdate: () => run.mask.project(),
      onStep: (r, i) => takeRecord(run, i, r),
      shouldStop: () => steer(run),
    });
    for (const s of run.items) if (s.active) s.steps = steps;
    return await collectResults(run);
  } finally {
    run.dispose();
  }
}
