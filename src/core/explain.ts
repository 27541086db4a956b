/**
 * `explain(model, input, target, options)`: the FGVis explanation in one
 * call. Validates, wires the pieces (model adapter, mask, gradient filter,
 * input-gradient kernels, loss, automatic lambda, optimiser loop) and returns
 * the result.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { FgvisArgumentError, throwIfAborted } from '../util/errors';
import { checkGatedKernels, gatedKernelsOption } from '../filter/hook';
import { assertGradientsRegistered } from '../util/gradients';
import { checkInput } from '../util/input';
import type { Explanation, RunItem, Target } from './explanation';
import { runExplanations } from './run';
import type { ExplainableModel } from '../model/adapter';
import { EXPLAIN_OPTION_NAMES, resolveExplainOptions, type ExplainOptions, type ResolvedExplainOptions } from './options';
import { checkOptionsObject, positiveInteger } from '../util/validate';

export type { Explanation, Target } from './explanation';

/** Gradients must be registered, and every gated kernel must have one. */
function checkGradients(fn: string, o: ResolvedExplainOptions, options: ExplainOptions | undefined): void {
  assertGradientsRegistered(fn);
  checkGatedKernels(fn, o.gatedKernels, gatedKernelsOption(fn, options ?? {}).argument);
}

/**
 * Explain why `model` gives `target` its score on `input` (FGVis, Wagner et al.
 * CVPR 2019): optimise a per-pixel, per-channel mask so that the explanation
 * `m * x + (1 - m) * r` keeps (preservation) or loses (deletion) the score with
 * as few values as possible, with gradients filtered by the image's own
 * layer outputs' bounds (the defense against adversarial evidence).
 *
 * @param model A tfjs `GraphModel`, `LayersModel`, or a function `[1,H,W,C] -> [1, classes]`.
 * @param input `[H,W,C]` or `[1,H,W,C]` float32, in the model's input space; never modified or disposed.
 * @param target A class index, `'top'` for the predicted class, or a class name (with `options.labels` or a model that carries its names, see `withLabels`).
 * @param options See {@link ExplainOptions}; defaults in `EXPLAIN_DEFAULTS`.
 * @returns The explanation; call `dispose()` on it (or declare it with `using`) to free its tensors.
 *
 * @example
 * ```ts
 * import '@tensorflow/tfjs-layers'; // registers tfjs's gradients
 * import '@tensorflow/tfjs-backend-wasm';
 * import * as tf from '@tensorflow/tfjs-core';
 * import { explain } from 'fgvis';
 * import { builtinModel, readImage } from 'fgvis/node';
 *
 * await tf.setBackend('wasm');
 * const emotion = builtinModel('emotion');
 * const model = await emotion.load();
 * const x = emotion.preprocess(await readImage('face.png')); // [1, 64, 64, 1]
 *
 * using result = await explain(model, x, 'top', { onStep: ({ step, score }) => console.log(step, score) });
 * console.log(emotion.classes[result.target], result.scores, result.maskMean);
 * const saliency = await result.saliency.data(); // [64, 64] in [0, 1]
 * ```
 */
export async function explain(
  model: ExplainableModel,
  input: tf.Tensor3D | tf.Tensor4D | tf.Tensor,
  target: Target = 'top',
  options?: ExplainOptions,
): Promise<Explanation> {
  const fn = 'explain';
  const o = resolveExplainOptions(options, fn);
  throwIfAborted(o.signal);
  checkGradients(fn, o, options);
  const x = await checkInput(input, fn);
  try {
    const [result] = await runExplanations(model, x, [{ image: 0, target }], o, fn, [...input.shape]);
    return result!;
  } finally {
    x.dispose();
  }
}

/** Options of {@link explainBatch}: those of `explain()` and the batch size. */
export interface ExplainBatchOptions extends ExplainOptions {
  /**
   * Explanations optimised together in one batched run (one forward and
   * backward pass of this many inputs per step); more are run in
   * consecutive batches. Default 8. Memory grows with it.
   */
  batchSize?: number;
}

/**
 * Several FGVis explanations in batched runs: the top-k classes of one image
 * (`input` `[H,W,C]` or `[1,H,W,C]` with an array of targets), or one class per
 * image of a batch (`input` `[N,H,W,C]` with one target for all or one per
 * image). Each explanation keeps its own optimiser, automatic lambda, early
 * stopping and back-off guard, so it matches what `explain()` returns for it
 * (up to floating-point reduction order); only the model calls are shared,
 * which is faster per explanation than one call at a time. The model must
 * accept a batch of `batchSize` inputs.
 *
 * `options.onStep` is called for every explanation of the batch; `live.item`
 * says which.
 *
 * @param model A tfjs `GraphModel`, `LayersModel`, or a function `[N,H,W,C] -> [N, classes]`.
 * @param input `[H,W,C]`, `[1,H,W,C]` or `[N,H,W,C]` float32; never modified or disposed.
 * @param targets One target per explanation (for one image: e.g. `[3, 7, 'top']`), or one for every image.
 * @param options See {@link ExplainBatchOptions}.
 * @returns One explanation per target (or per image), in order, each shaped like one image of `input`; dispose each.
 */
export async function explainBatch(
  model: ExplainableModel,
  input: tf.Tensor3D | tf.Tensor4D | tf.Tensor,
  targets: Target | readonly Target[] = 'top',
  options?: ExplainBatchOptions,
): Promise<Explanation[]> {
  const fn = 'explainBatch';
  const { batchSize: size, ...rest } = checkOptionsObject<ExplainBatchOptions>(fn, options, [...EXPLAIN_OPTION_NAMES, 'batchSize']);
  const batchSize = size === undefined ? 8 : positiveInteger(fn, 'batchSize', size);
  const o = resolveExplainOptions(rest, fn);
  throwIfAborted(o.signal);
  checkGradients(fn, o, rest);
  const x = await checkInput(input, fn, 'input', true);
  try {
    const N = x.shape[0];
    let items: RunItem[];
    if (Array.isArray(targets)) {
      if (targets.length === 0) throw new FgvisArgumentError(fn, 'targets', 'must not be an empty array');
      if (N > 1 && targets.length !== N) {
        throw new FgvisArgumentError(fn, 'targets', `must have one target per image (${N}) or be a single target, got an array of ${targets.length}`);
      }
      items = targets.map((target, i) => ({ image: N === 1 ? 0 : i, target }));
    } else {
      items = Array.from({ length: N }, (_, i) => ({ image: i, target: targets as Target }));
    }
    const itemShape = input.rank === 3 ? [...input.shape] : [1, ...input.shape.slice(1)];
    const results: Explanation[] = [];
    try {
      for (let start = 0; start < items.length; start += batchSize) {
        const chunk = items.slice(start, start + batchSize);
        // The images this chunk uses, renumbered.
        const used = [...new Set(chunk.map((it) => it.image))];
        const images = used.length === N ? x : (tf.gather(x, used) as tf.Tensor4D);
        try {
          const renumbered = chunk.map((it) => ({ image: used.indexOf(it.image), target: it.target }));
          results.push(...(await runExplanations(model, images, renumbered, o, fn, itemShape)));
        } finally {
          if (images !== x) images.dispose();
        }
      }
      return results;
    } catch (e) {
      for (const r of results) r.dispose();
      throw e;
    }
  } finally {
    x.dispose();
  }
}
