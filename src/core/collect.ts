/**
 * The last stage of an FGVis run: each item's returned mask (the sparsest
 * iterate that met the goal, else the last one), its explanation and
 * saliency, the scores read from the unmodified model, and the warnings.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { throwIfAborted } from '../util/errors';
import { withDispose } from '../util/attribution';
import { readAndDispose } from '../util/read';
import { selectClass } from '../model/adapter';
import { SMOOTH_ACTIVATION_KERNELS } from '../filter/gated-kernels';
import type { Explanation } from './explanation';
import { composeExplanation } from './mask';
import { row, type ItemState, type Run } from './prepare';

/** Each item's returned mask `[B,H,W,C]` (a new tensor) and the lambda it was found with. */
async function returnedMasks(run: Run): Promise<{ masks: tf.Tensor4D; lambdas: number[]; metGoal: boolean[] }> {
  const [B, H, W, C] = run.batchShape;
  const lambdas: number[] = [];
  const metGoal: boolean[] = [];
  const rows: tf.Tensor[] = [];
  try {
    const last = B === 1 ? null : tf.tidy(() => tf.split(run.mask.values(), B));
    for (let i = 0; i < B; i++) {
      const s = run.items[i]!;
      const best = s.auto ? await s.auto.bestIterate() : null;
      metGoal.push(best !== null);
      if (best) {
        rows.push(best.mask);
        lambdas.push(best.lambda);
        last?.[i]!.dispose();
      } else {
        rows.push(last ? last[i]! : run.mask.values());
        lambdas.push(s.auto ? await s.auto.current() : run.fixedLambda);
      }
    }
    return { masks: tf.tidy(() => tf.concat(rows.map((t) => tf.reshape(t, [1, H, W, C]))) as tf.Tensor4D), lambdas, metGoal };
  } finally {
    tf.dispose(rows);
  }
}

/** The warnings of one item. */
function warningsOf(run: Run, s: ItemState, metGoal: boolean): string[] {
  const o = run.options;
  const warnings: string[] = [];
  if (o.defense && (run.filter?.gatedOutputs ?? 0) === 0) {
    warnings.push(
      'the defense found no gated kernel to filter (' + o.gatedKernels.join(', ') +
        '): the model may compute its nonlinearities with other ops (e.g. maximum(x, 0)); the explanation is undefended',
    );
  }
  if (o.defense && run.filter?.bounds?.ungatedNonlinearities) {
    warnings.push(
      `the model has hidden smooth nonlinearities (${SMOOTH_ACTIVATION_KERNELS.filter((k) => !o.gatedKernels.includes(k)).join(', ')}) ` +
        `that the defense does not gate (it gated ${run.filter.gatedOutputs} output${run.filter.gatedOutputs === 1 ? '' : 's'}): add them to options.gatedKernels ` +
        'for a stronger defense, at the cost of larger masks (docs/defaults.md, "Smooth nonlinearities")',
    );
  }
  if (s.goal && !metGoal) {
    warnings.push(
      `no iterate met the score goal (${s.goal.direction === 'atLeast' ? '>=' : '<='} ${s.goal.score.toFixed(4)}); ` +
        'the last mask is returned: try more steps or a different learningRate',
    );
  }
  return warnings;
}

/** One item's result tensors (mask, explanation, evidence, saliency), shaped like one image as the user gave it. */
function itemTensors(run: Run, masks: tf.Tensor4D, explanations: tf.Tensor4D, i: number): tf.Tensor[] {
  const [B, H, W, C] = run.batchShape;
  const shape = run.itemShape as number[];
  const preserve = run.options.game === 'preservation';
  return tf.tidy(() => {
    const m = row(masks, i, B);
    const mask = tf.reshape(m, shape);
    const explanation = tf.reshape(row(explanations, i, B), shape);
    const removed = () => composeExplanation(tf.sub(1, m), row(run.x, i, B), run.reference && row(run.reference, i, B));
    const evidence = preserve ? tf.clone(explanation) : tf.reshape(removed(), shape);
    const m3 = tf.reshape(mask, [H, W, C]) as tf.Tensor3D;
    const saliency = tf.mean(preserve ? m3 : tf.sub(1, m3), 2) as tf.Tensor2D;
    return [mask, explanation, evidence, saliency];
  });
}

/** Collect every item's {@link Explanation} after the optimisation. The results own their tensors; the run is not disposed. */
export async function collectResults(run: Run): Promise<Explanation[]> {
  const B = run.items.length;
  const o = run.options;
  const { masks, lambdas, metGoal } = await returnedMasks(run);
  const owned: tf.Tensor[] = [masks];
  const results: Explanation[] = [];
  try {
    const explanations = tf.tidy(() => composeExplanation(masks, run.x, run.reference) as tf.Tensor4D);
    owned.push(explanations);
    const scoreExplanation = await readAndDispose(tf.tidy(() => {
      const p = run.scorer.probs(explanations);
      return tf.stack(run.items.map((s, i) => selectClass(row(p, i, B), s.target)));
    }));
    const maskMeans = await readAndDispose(tf.tidy(() => tf.mean(tf.reshape(masks, [B, -1]), 1)));
    throwIfAborted(o.signal);
    for (let i = 0; i < B; i++) {
      const s = run.items[i]!;
      const tensors = itemTensors(run, masks, explanations, i);
      const [mask, explanation, evidence, saliency] = tensors as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor2D];
      results.push(
        withDispose(
          {
            mask,
            explanation,
            evidence,
            saliency,
            target: s.target,
            game: o.game,
            lambda: lambdas[i]!,
            steps: s.steps,
            backoffs: s.control.backoffs,
            scores: { image: s.scoreImage, explanation: scoreExplanation[i]!, reference: s.scoreReference },
            maskMean: maskMeans[i]!,
            gatedOutputs: run.filter?.gatedOutputs ?? 0,
            filtered: run.filter?.gatedOutputs ?? 0,
            goal: s.goal,
            history: s.history,
            warnings: warningsOf(run, s, metGoal[i]!),
          },
          tensors,
        ),
      );
    }
    return results;
  } catch (e) {
    for (const r of results) r.dispose();
    throw e;
  } finally {
    tf.dispose(owned);
  }
}
