/**
 * The second stage of an FGVis run: one optimisation step of every item of a
 * prepared {@link Run}, as the optimiser loop (`optimize`) calls it. The
 * class term's gradient goes through the model with the defense installed;
 * the sparsity term's gradient acts on the mask directly; the automatic
 * lambda observes the iterate. `explain()`, `explainBatch()` and the
 * benchmark all run this function.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { gradientError } from '../util/errors';
import { withInputGradientKernels } from '../kernels';
import { selectClass } from '../model/adapter';
import { composeExplanation } from './mask';
import type { StepOutput } from './optimize';
import { row, type Run } from './prepare';

/** Optional callbacks at the phase boundaries of a step, called synchronously (e.g. to time them). */
export interface StepHooks {
  /** After the forward pass (the class terms are computed). */
  forward?(): void;
  /** After the backward pass (the class terms' gradient is computed). */
  backward?(): void;
}

/** The class terms' gradient and the per-item scores `[B]` and class terms `[B]`: new tensors owned by the caller. */
interface ClassGradient {
  grad: tf.Tensor;
  scores: tf.Tensor1D;
  terms: tf.Tensor1D;
}

/**
 * The gradient of the class terms, the only one that goes through the model
 * (and the filter). `valuesOf` maps the parameter to mask values (the
 * identity for the capture pass).
 */
function classGradient(run: Run, param: tf.Tensor, valuesOf: (p: tf.Tensor) => tf.Tensor = run.mask.valuesOf, hooks: StepHooks = {}): ClassGradient {
  const { items, scorer, x, reference, filter } = run;
  const B = items.length;
  let scores: tf.Tensor1D | null = null;
  let terms: tf.Tensor1D | null = null;
  const f = (p: tf.Tensor) => {
    const lp = scorer.logProbs(composeExplanation(valuesOf(p), x, reference) as tf.Tensor4D);
    const rows = items.map((_, i) => row(lp, i, B));
    scores = tf.keep(tf.exp(tf.stack(rows.map((r, i) => selectClass(r, items[i]!.target)))) as tf.Tensor1D);
    const each = rows.map((r, i) => items[i]!.loss.classTerm(r));
    terms = tf.keep(tf.stack(each) as tf.Tensor1D);
    hooks.forward?.();
    return B === 1 ? each[0]! : tf.addN(each);
  };
  try {
    // In a tidy: tfjs does not free the forward output when the backward pass throws.
    const compute = () => tf.tidy(() => tf.valueAndGrad(f)(param));
    const out = withInputGradientKernels(() => (filter ? filter.run(compute) : compute()), run.tuning.kernels);
    out.value.dispose();
    hooks.backward?.();
    return { grad: out.grad, scores: scores!, terms: terms! };
  } catch (e) {
    tf.dispose([scores as tf.Tensor1D | null, terms as tf.Tensor1D | null].filter((t): t is tf.Tensor1D => t !== null));
    throw gradientError(run.fn, e);
  }
}

/**
 * Capture the defense's bounds in a pass at e = x exactly. The clipped mask
 * starts at ones, so its first step is that pass; the sigmoid mask (0.999
 * at the start) needs this pass of its own, with the mask itself set to ones.
 * Does nothing without the defense or with the clipped mask.
 */
export function captureBoundsAtImage(run: Run): void {
  if (!run.filter || run.mask.parameterization === 'clip') return;
  tf.tidy(() => {
    const { grad, scores, terms } = classGradient(run, tf.ones([...run.batchShape]), (p) => p);
    tf.dispose([grad, scores, terms]);
  });
}

/**
 * One step of every item of `run`: the gradient of each item's loss with
 * respect to the mask parameter, and the per-item record (vectors `[B]`):
 * `loss`, `score` (the target's softmax score on the explanation), `l1` (the
 * mask mean), `lambda`, and `gradientCheck` (0 when every gradient value is
 * finite, NaN otherwise). The record describes the mask before this step's
 * update. The automatic lambda of every active item observes the iterate.
 * Returns new tensors owned by the caller (the optimiser loop).
 */
export function explainStep(run: Run, hooks: StepHooks = {}): StepOutput {
  const { items, mask } = run;
  const B = items.length;
  const { grad, scores, terms } = classGradient(run, mask.param, mask.valuesOf, hooks);
  const m = mask.values();
  const sparsity: tf.Scalar[] = [];
  try {
    const out = tf.tidy(() => {
      const lambdas = items.map((s) => (s.auto ? s.auto.lambda : tf.scalar(run.fixedLambda)));
      const sparsityOf = (p: tf.Tensor) => {
        const values = mask.valuesOf(p);
        const each = items.map((s, i) => s.loss.sparsity(row(values, i, B)));
        sparsity.push(...each.map((t) => tf.keep(t)));
        return B === 1 ? each[0]! : tf.addN(each);
      };
      // The rows are independent: the gradient of the sum is each row's own gradient.
      const { grad: sparsityGrad } = tf.valueAndGrad(sparsityOf)(mask.param);
      const lambda = B === 1 ? lambdas[0]! : tf.reshape(tf.stack(lambdas), [B, 1, 1, 1]);
      const total = tf.add(grad, tf.mul(lambda, sparsityGrad));
      const termRows = tf.unstack(terms) as tf.Scalar[];
      const record = {
        loss: tf.stack(items.map((_, i) => tf.add(termRows[i]!, tf.mul(lambdas[i]!, sparsity[i]!)))),
        score: tf.clone(scores),
        l1: tf.stack(items.map((_, i) => tf.mean(row(m, i, B)))),
        lambda: tf.stack(lambdas),
        // 0 when every gradient value is finite, NaN otherwise (read with the record, no extra read).
        gradientCheck: tf.stack(items.map((_, i) => tf.sum(tf.mul(row(total, i, B), 0)))),
      };
      return { grad: total, record };
    });
    observeIterates(run, m, scores, sparsity, out);
    return out;
  } finally {
    tf.dispose([grad, scores, terms, m, ...sparsity]);
  }
}

/** The automatic lambda of every active item observes its iterate (the mask before the update). */
function observeIterates(run: Run, m: tf.Tensor, scores: tf.Tensor1D, sparsity: tf.Scalar[], out: StepOutput): void {
  const B = run.items.length;
  try {
    // Not in a tidy: observe() replaces the state's tensors.
    const scoreRows = tf.unstack(scores) as tf.Scalar[];
    const mRows = B === 1 ? [] : tf.split(m, B);
    try {
      run.items.forEach((s, i) => {
        if (s.active) s.auto?.observe(B === 1 ? m : mRows[i]!, scoreRows[i]!, sparsity[i]!);
      });
    } finally {
      tf.dispose([...scoreRows, ...mRows]);
    }
  } catch (e) {
    tf.dispose([out.grad, ...Object.values(out.record)]);
    throw e;
  }
}
