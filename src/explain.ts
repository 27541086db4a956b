/**
 * `explain(model, input, target, options)`: the FGVis explanation in one
 * call. Validates, wires the pieces (model adapter, mask, gradient filter,
 * input-gradient kernels, loss, automatic lambda, optimiser loop) and returns
 * the result.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { FgvisArgumentError, FgvisModelError, describe, gradientError, throwIfAborted } from './errors';
import { GradientFilter, assertGradientsRegistered } from './filter';
import { checkInput, checkTarget } from './input';
import { withInputGradientKernels } from './kernels';
import { runController } from './control';
import { AutoLambda, scoreGoal, type ScoreGoal } from './lambda';
import { buildLoss, type Game } from './loss';
import { composeExplanation, createMask, makeReference, type Mask } from './mask';
import { adaptModel, selectClass, type ExplainableModel, type ScoreModel } from './model';
import { adam, optimize, sgd, type StepRecord } from './optimize';
import { resolveExplainOptions, type ExplainLive, type ExplainOptions, type ExplainStep } from './options';

/** The class to explain: an index, or `'top'` for the model's predicted class on the input. */
export type Target = number | 'top';

/** The result of `explain()`. Owns its tensors until {@link Explanation.dispose}. */
export interface Explanation {
  /** The mask `m`, same shape as the input, values in [0, 1]. */
  mask: tf.Tensor;
  /** The explanation `m * x + (1 - m) * r` the model was shown, same shape as the input. */
  explanation: tf.Tensor;
  /** Per-pixel importance `[H, W]` in [0, 1]: channel mean of `m` (preservation) or of `1 - m` (deletion). */
  saliency: tf.Tensor2D;
  /** The class explained. */
  target: number;
  /** The game played. */
  game: Game;
  /** The lambda used (for `'auto'`, the one the returned mask was found with). */
  lambda: number;
  /** The optimisation steps run. */
  steps: number;
  /** How many times the automatic lambda's guard restored the best iterate and slowed down. */
  backoffs: number;
  /** The target's softmax score, read from the unmodified model. */
  scores: {
    /** On the input image. */
    image: number;
    /** On the explanation. */
    explanation: number;
    /** On the reference alone (everything removed): the floor of a deletion. */
    reference: number;
  };
  /** The mask's mean value (L1 norm / size). */
  maskMean: number;
  /** How many activation outputs the defense gated (0 with `defense: false`). */
  filtered: number;
  /** The score goal the automatic lambda aimed for (absent for a fixed lambda). */
  goal?: ScoreGoal;
  /** Per-step record: loss, target score, mask mean, lambda. */
  history: ExplainStep[];
  /** Things the caller should know (e.g. the defense found no activation to filter). */
  warnings: string[];
  /** Free the result's tensors. Idempotent. */
  dispose(): void;
}

/** Read the target's probability on one input with the unmodified model (no tape). */
async function scoreOf(scorer: ScoreModel, x: tf.Tensor4D, target: number): Promise<number> {
  const p = tf.tidy(() => selectClass(scorer.probs(x), target));
  try {
    return (await p.data())[0]!;
  } finally {
    p.dispose();
  }
}

/**
 * Explain why `model` gives `target` its score on `input` (FGVis, Wagner et al.
 * CVPR 2019): optimise a per-pixel, per-channel mask so that the explanation
 * `m * x + (1 - m) * r` keeps (preservation) or loses (deletion) the score with
 * as few values as possible, with gradients filtered by the image's own
 * activation bounds (the defense against adversarial evidence).
 *
 * @param model A tfjs `GraphModel`, `LayersModel`, or a function `[1,H,W,C] -> [1, classes]`.
 * @param input `[H,W,C]` or `[1,H,W,C]` float32, in the model's input space; never modified or disposed.
 * @param target A class index, or `'top'` for the predicted class.
 * @param options See {@link ExplainOptions}; defaults in `EXPLAIN_DEFAULTS`.
 * @returns The explanation; call `dispose()` on it to free its tensors.
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
  assertGradientsRegistered(fn);
  for (const k of o.activations) {
    if (tf.getGradient(k) == null) {
      throw new FgvisArgumentError(fn, 'options.activations', `contains ${describe(k)}, which has no registered gradient (kernel names are case-sensitive, e.g. "Relu")`);
    }
  }
  const x = await checkInput(input, fn);

  // Everything the run owns, freed in `finally` whatever happens.
  let reference: tf.Tensor4D | null = null;
  let imageProbs: tf.Tensor2D | null = null;
  let mask: Mask | null = null;
  let filter: GradientFilter | null = null;
  let auto: AutoLambda | null = null;
  const optimizer = o.optimizer === 'adam' ? adam({ learningRate: o.learningRate }) : sgd({ learningRate: o.learningRate });
  let resultTensors: tf.Tensor[] = [];
  try {
    const scorer = await adaptModel(model, x, { scores: o.scores, outputNode: o.outputNode, caller: fn });
    imageProbs = tf.tidy(() => scorer.probs(x));
    const c = checkTarget(target, await imageProbs.data(), fn);
    reference = makeReference(x, o.reference, { blurSigma: o.blurSigma, seed: o.seed, caller: fn });
    if (reference !== null && o.reference instanceof tf.Tensor) {
      const values = await reference.data();
      const i = values.findIndex((v) => !Number.isFinite(v));
      if (i >= 0) throw new FgvisArgumentError(fn, 'options.reference', `must be finite, got ${describe(values[i])} at flat index ${i}`);
    }
    const scoreImage = (await imageProbs.data())[c]!;
    const referenceInput = reference ?? tf.zerosLike(x);
    let scoreReference: number;
    try {
      scoreReference = await scoreOf(scorer, referenceInput, c);
    } finally {
      if (reference === null) referenceInput.dispose();
    }
    throwIfAborted(o.signal);

    const loss = buildLoss({ game: o.game, classTerm: o.classTerm, target: c, imageProbs });
    const goal = o.lambda === 'auto' ? scoreGoal(o.game, scoreImage, scoreReference, o.autoLambda) : undefined;
    if (goal) auto = new AutoLambda(goal, o.autoLambda);
    const fixedLambda = o.lambda === 'auto' ? 0 : o.lambda;
    const m0 = createMask(x.shape, { parameterization: o.parameterization });
    mask = m0;
    const r = reference;
    if (o.defense) filter = new GradientFilter({ activations: o.activations });

    // The class term's gradient: the only one that goes through the model (and the filter).
    // `valuesOf` maps the parameter to mask values (the identity for the capture pass below).
    const classGradient = (param: tf.Tensor, valuesOf: (p: tf.Tensor) => tf.Tensor = m0.valuesOf) => {
      let score: tf.Scalar | null = null;
      const f = (p: tf.Tensor) => {
        const lp = scorer.logProbs(composeExplanation(valuesOf(p), x, r) as tf.Tensor4D);
        score = tf.keep(tf.exp(selectClass(lp, c)));
        return loss.classTerm(lp);
      };
      try {
        // In a tidy: tfjs does not free the forward output when the backward pass throws.
        const compute = () => tf.tidy(() => tf.valueAndGrad(f)(param));
        const out = withInputGradientKernels(() => (filter ? filter.run(compute) : compute()));
        return { ...out, score: score! };
      } catch (e) {
        (score as tf.Scalar | null)?.dispose();
        throw gradientError(fn, e);
      }
    };

    // Bounds must come from a pass at e = x exactly: the clipped mask starts at
    // ones, so its first step is that pass; the sigmoid mask (0.999 at the
    // start) needs its own pass, with the mask itself set to ones.
    if (filter && o.parameterization !== 'clip') {
      tf.tidy(() => {
        const ones = tf.onesLike(x);
        const { value, grad, score } = classGradient(ones, (p) => p);
        tf.dispose([value, grad, score]);
      });
    }

    const control = runController({
      game: o.game,
      goal,
      earlyStop: o.earlyStop,
      backoff: o.backoff,
      auto,
      optimizer,
      assignMask: (values) => m0.assign(values),
    });
    const live: ExplainLive = { mask: () => tf.tidy(() => tf.reshape(m0.values(), input.shape)) };
    const { steps, history } = await optimize(m0.param, {
      steps: o.steps,
      optimizer,
      signal: o.signal,
      readEvery: o.readEvery,
      // Every record is checked as soon as it is read: a non-finite loss or gradient stops the run there.
      onStep: (r: StepRecord) => {
        const bad = ['loss', 'score', 'gradientCheck'].find((k) => !Number.isFinite(r[k]!));
        if (bad !== undefined) {
          const what = bad === 'gradientCheck' ? 'the gradient of the loss became non-finite (NaN or Infinity)' : `the ${bad} became ${r[bad]}`;
          throw new FgvisModelError(
            fn,
            `${what} at step ${r.step}: the model's output or its gradient overflowed on the explanation; ` +
              'check the model on inputs between the image and the reference, or try a smaller options.learningRate',
          );
        }
        delete (r as Record<string, number>).gradientCheck;
        return o.onStep?.(r as ExplainStep, live);
      },
      shouldStop: control.shouldStop,
      computeStep: () => {
        const { value, grad, score } = classGradient(m0.param);
        let m: tf.Tensor | null = null;
        let sparsity: tf.Scalar | null = null;
        try {
          const out = tf.tidy(() => {
            const lambda = auto ? auto.lambda : tf.scalar(fixedLambda);
            const sparsityOf = (p: tf.Tensor) => loss.sparsity(m0.valuesOf(p));
            const { value: sp, grad: sparsityGrad } = tf.valueAndGrad(sparsityOf)(m0.param);
            m = tf.keep(m0.values());
            sparsity = tf.keep(sp);
            const record = {
              loss: tf.keep(tf.add(value, tf.mul(lambda, sp)) as tf.Scalar),
              score: tf.keep(tf.clone(score)),
              l1: tf.keep(tf.mean(m) as tf.Scalar),
              lambda: tf.keep(tf.clone(lambda)),
            };
            const total = tf.add(grad, tf.mul(lambda, sparsityGrad));
            // 0 when every gradient value is finite, NaN otherwise (read with the record, no extra read).
            (record as Record<string, tf.Scalar>).gradientCheck = tf.keep(tf.sum(tf.mul(total, 0)) as tf.Scalar);
            return { grad: tf.keep(total), record };
          });
          // The iterate, its score and sparsity are those of the mask before this step's update.
          try {
            auto?.observe(m!, score, sparsity!);
          } catch (e) {
            tf.dispose([out.grad, ...Object.values(out.record)]);
            throw e;
          }
          return out;
        } finally {
          tf.dispose([value, grad, score]);
          if (m) (m as tf.Tensor).dispose();
          if (sparsity) (sparsity as tf.Tensor).dispose();
        }
      },
      afterUpdate: () => m0.project(),
    });
    for (const h of history) {
      if (!Number.isFinite(h.loss!)) {
        throw new FgvisModelError(fn, `the loss became ${h.loss} at step ${h.step}; try a smaller options.learningRate`);
      }
    }

    // The returned mask: the sparsest iterate that met the goal (auto lambda), else the last one.
    let lambdaUsed = fixedLambda;
    let finalMask: tf.Tensor;
    const best = auto ? await auto.bestIterate() : null;
    if (best) {
      finalMask = best.mask;
      lambdaUsed = best.lambda;
    } else {
      finalMask = m0.values();
      if (auto) lambdaUsed = await auto.current();
    }
    const shaped = tf.tidy(() => tf.reshape(finalMask, input.shape));
    finalMask.dispose();
    resultTensors.push(shaped);
    const explanation = tf.tidy(() => tf.reshape(composeExplanation(shaped, input, r === null ? null : tf.reshape(r, input.shape)), input.shape));
    resultTensors.push(explanation);
    const saliency = tf.tidy(() => {
      const m3 = tf.reshape(shaped, [x.shape[1], x.shape[2], x.shape[3]]) as tf.Tensor3D;
      const imp = o.game === 'preservation' ? m3 : tf.sub(1, m3);
      return tf.mean(imp, 2) as tf.Tensor2D;
    });
    resultTensors.push(saliency);
    const e4 = tf.reshape(explanation, x.shape) as tf.Tensor4D;
    let scoreExplanation: number;
    try {
      scoreExplanation = await scoreOf(scorer, e4, c);
    } finally {
      e4.dispose();
    }
    const maskMean = await (async () => {
      const t = tf.mean(shaped);
      try {
        return (await t.data())[0]!;
      } finally {
        t.dispose();
      }
    })();
    throwIfAborted(o.signal);

    const warnings: string[] = [];
    const filtered = filter?.count ?? 0;
    if (o.defense && filtered === 0) {
      warnings.push(
        'the defense found no activation kernel to filter (' + o.activations.join(', ') +
          '): the model may compute its nonlinearities with other ops (e.g. maximum(x, 0)); the explanation is undefended',
      );
    }
    if (goal && !best) {
      warnings.push(
        `no iterate met the score goal (${goal.direction === 'atLeast' ? '>=' : '<='} ${goal.score.toFixed(4)}); ` +
          'the last mask is returned: try more steps or a different learningRate',
      );
    }
    const owned = resultTensors;
    resultTensors = [];
    let disposed = false;
    return {
      mask: shaped,
      explanation,
      saliency,
      target: c,
      game: o.game,
      lambda: lambdaUsed,
      steps,
      backoffs: control.backoffs,
      scores: { image: scoreImage, explanation: scoreExplanation, reference: scoreReference },
      maskMean,
      filtered,
      goal,
      history: history as ExplainStep[],
      warnings,
      dispose() {
        if (disposed) return;
        disposed = true;
        tf.dispose(owned);
      },
    };
  } finally {
    tf.dispose(resultTensors);
    x.dispose();
    reference?.dispose();
    imageProbs?.dispose();
    mask?.dispose();
    filter?.dispose();
    auto?.dispose();
    optimizer.dispose();
  }
}
