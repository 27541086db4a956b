/**
 * Tests of whether an explanation holds real evidence or adversarial
 * evidence (FGVis, Wagner et al. CVPR 2019, Sec. 3 and Fig. 4):
 * - {@link adversarialEvidenceTest}: explain the class the model finds least
 *   likely. The image holds no evidence for it, so an honest explanation
 *   cannot raise its score much above the empty (all-reference) image;
 *   without the defense the optimiser invents evidence and the score climbs.
 * - {@link explanationAsInputTest}: an explanation of model A shown to a
 *   different model B. Real evidence (the object's pixels) transfers;
 *   adversarial evidence tuned to A does not.
 *
 * @packageDocumentation
 */
import type { Target } from '../util/input';
import * as tf from '@tensorflow/tfjs-core';
import { disposable } from '../util/attribution';
import { describe, FgvisArgumentError } from '../util/errors';
import { explain, type Explanation } from '../core/explain';
import { makeReference } from '../util/reference';
import { modelLabels } from '../model/labels';
import { adaptModel, modelKind, type ExplainableModel, type ScoreModel, type ScoresOption } from '../model/adapter';
import { EXPLAIN_DEFAULTS, resolveExplainOptions, type ExplainOptions } from '../core/options';
import { checkImage, checkOptionsObject, probsOf, resolveTarget } from './common';

/** Options of {@link adversarialEvidenceTest}; defaults in {@link ADVERSARIAL_EVIDENCE_DEFAULTS}. */
export interface AdversarialEvidenceOptions {
  /**
   * Options for both `explain` runs (the preservation game; `game` and
   * `defense` are set by the test and may not be given). Merged over
   * {@link ADVERSARIAL_EVIDENCE_DEFAULTS}.explain.
   */
  explain?: Omit<ExplainOptions, 'game' | 'defense'>;
  /** Keep both explanations in the result (free them with `dispose()`); default false. */
  keepExplanations?: boolean;
}

/**
 * The defaults of {@link adversarialEvidenceTest}, in one place.
 *
 * - `lambda: 1`: a fixed sparsity weight (the automatic lambda's starting
 *   value). The automatic lambda cannot be used here: its goal, keeping the
 *   image's score, is already met by the empty mask for a class the image
 *   scores near zero, so it would return the empty mask with or without the
 *   defense and the test would measure nothing.
 * - `steps: 300` (a long, fixed budget) with `earlyStop: false`, so both
 *   runs take the same number of steps; `seed: 0`.
 */
export const ADVERSARIAL_EVIDENCE_DEFAULTS = {
  explain: { lambda: 1, steps: 300, earlyStop: false, seed: 0 },
  keepExplanations: false,
} as const;

/** The result of {@link adversarialEvidenceTest}. All scores are the target's softmax probability. */
export interface AdversarialEvidenceResult {
  /** The least likely class on the image (lowest probability; ties: lowest index). */
  target: number;
  /** Number of classes. */
  numClasses: number;
  scores: {
    /** The image's score of the least likely class. */
    image: number;
    /** The all-reference (empty) image's score: the honest floor for a model with few classes. */
    reference: number;
    /** The defended explanation's score. */
    defended: number;
    /** The undefended explanation's score. */
    undefended: number;
  };
  /** `scores.undefended - scores.defended`: how much evidence the defense kept the optimiser from inventing. */
  margin: number;
  /** Mask means (L1 / size) of the two explanations. */
  maskMean: { defended: number; undefended: number };
  /** Layer outputs the defense gated in the defended run (0 means the defense found nothing to gate). */
  gatedOutputs: number;
  /** @deprecated Renamed `gatedOutputs`; this alias will be removed. */
  filtered: number;
  /** Warnings of the two `explain` runs. */
  warnings: { defended: string[]; undefended: string[] };
  /** The explanations, with `keepExplanations: true`. */
  explanations?: { defended: Explanation; undefended: Explanation };
  /** Free the kept explanations. Idempotent. */
  dispose(): void;  /** Calls `dispose()` (what `using` calls at the end of the block). */
  [Symbol.dispose](): void;
}

function checkExplainOptions(fn: string, value: unknown, argument: string, forbidden: readonly string[]): ExplainOptions {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FgvisArgumentError(fn, argument, `must be an object of explain() options, got ${describe(value)}`);
  }
  for (const key of forbidden) {
    if (key in value) throw new FgvisArgumentError(fn, `${argument}.${key}`, `is set by ${fn} and may not be given`);
  }
  // Validate now (before any work), with errors naming this function and the nested option.
  try {
    resolveExplainOptions(value as ExplainOptions, fn);
  } catch (e) {
    if (e instanceof FgvisArgumentError && e.argument.startsWith('options')) {
      const rest = e.message.slice(e.message.indexOf(e.argument) + e.argument.length + 1);
      throw new FgvisArgumentError(fn, argument + e.argument.slice('options'.length), rest);
    }
    throw e;
  }
  return value as ExplainOptions;
}

/** The target's probability on the all-reference image made with explain's reference options. */
async function referenceScore(scorers: ScoreModel[], x: tf.Tensor4D, targets: number[], o: ExplainOptions, fn: string): Promise<number[]> {
  const r = makeReference(x, o.reference ?? EXPLAIN_DEFAULTS.reference, { blurSigma: o.blurSigma ?? EXPLAIN_DEFAULTS.blurSigma, seed: o.seed, caller: fn });
  const empty = r ?? tf.zerosLike(x);
  try {
    const out: number[] = [];
    for (let i = 0; i < scorers.length; i++) out.push((await probsOf(scorers[i]!, empty))[targets[i]!]!);
    return out;
  } finally {
    empty.dispose();
  }
}

/**
 * The adversarial-evidence test (FGVis Fig. 4): finds the least likely class
 * on `input`, explains it with the preservation game twice, with the defense
 * and without (same options, same seed, same number of steps), and reports the
 * score each explanation reaches on the unmodified model beside the image's
 * and the empty image's scores. A defended explanation should stay near the
 * image / empty-image score; an undefended one may reach a high score with
 * invented evidence. `margin = undefended - defended`.
 *
 * @param model The model (GraphModel, LayersModel or function).
 * @param input `[H,W,C]` or `[1,H,W,C]` float32; not modified.
 * @param options See {@link AdversarialEvidenceOptions}; defaults in {@link ADVERSARIAL_EVIDENCE_DEFAULTS}.
 */
export async function adversarialEvidenceTest(
  model: ExplainableModel,
  input: tf.Tensor,
  options?: AdversarialEvidenceOptions,
): Promise<AdversarialEvidenceResult> {
  const fn = 'adversarialEvidenceTest';
  const o = checkOptionsObject(fn, options, ['explain', 'keepExplanations']);
  const user = checkExplainOptions(fn, o.explain, 'options.explain', ['game', 'defense']);
  const keep = o.keepExplanations ?? ADVERSARIAL_EVIDENCE_DEFAULTS.keepExplanations;
  if (typeof keep !== 'boolean') throw new FgvisArgumentError(fn, 'options.keepExplanations', `must be a boolean, got ${describe(keep)}`);
  const explainOptions: ExplainOptions = { ...ADVERSARIAL_EVIDENCE_DEFAULTS.explain, ...user };
  checkExplainOptions(fn, explainOptions, 'options.explain', []);

  const x = await checkImage(input, fn);
  const made: Explanation[] = [];
  try {
    const scorer = await adaptModel(model, x, { scores: explainOptions.scores, outputNode: explainOptions.outputNode, caller: fn });
    const probs = await probsOf(scorer, x);
    let target = 0;
    for (let i = 1; i < probs.length; i++) if (probs[i]! < probs[target]!) target = i;
    const [reference] = await referenceScore([scorer], x, [target], explainOptions, fn);
    const defended = await explain(model, input, target, { ...explainOptions, game: 'preservation', defense: true });
    made.push(defended);
    const undefended = await explain(model, input, target, { ...explainOptions, game: 'preservation', defense: false });
    made.push(undefended);
    const scores = { image: probs[target]!, reference: reference!, defended: defended.scores.explanation, undefended: undefended.scores.explanation };
    const owned = keep ? made.splice(0) : [];
    let disposed = false;
    return disposable({
      target,
      numClasses: probs.length,
      scores,
      margin: scores.undefended - scores.defended,
      maskMean: { defended: defended.maskMean, undefended: undefended.maskMean },
      gatedOutputs: defended.gatedOutputs,
      filtered: defended.gatedOutputs,
      warnings: { defended: defended.warnings, undefended: undefended.warnings },
      ...(keep ? { explanations: { defended, undefended } } : {}),
      dispose() {
        if (disposed) return;
        disposed = true;
        owned.forEach((e) => e.dispose());
      },
    });
  } finally {
    made.forEach((e) => e.dispose());
    x.dispose();
  }
}

/** Options of {@link explanationAsInputTest}; defaults in {@link EXPLANATION_AS_INPUT_DEFAULTS}. */
export interface ExplanationAsInputOptions {
  /** Options of the `explain` run on model A (the preservation game; `game` may not be given). Default: explain's own defaults. */
  explain?: Omit<ExplainOptions, 'game'>;
  /** The class index for model B when its classes are numbered differently; default the same index as A's target. */
  targetB?: number;
  /** How to read model B's output; default `'auto'`. */
  scoresB?: ScoresOption;
  /** Output node / name of model B, for models with several outputs. */
  outputNodeB?: string;
  /** Keep the explanation in the result (free it with `dispose()`); default false. */
  keepExplanation?: boolean;
}

/** The defaults of {@link explanationAsInputTest}, in one place. */
export const EXPLANATION_AS_INPUT_DEFAULTS = {
  explain: {},
  scoresB: 'auto',
  keepExplanation: false,
} as const;

/** Scores of one model in {@link explanationAsInputTest}: the target's softmax probability. */
export interface ExplanationAsInputScores {
  /** On the image. */
  image: number;
  /** On model A's preservation explanation. */
  explanation: number;
  /** On the all-reference (empty) image. */
  reference: number;
}

/** The result of {@link explanationAsInputTest}. */
export interface ExplanationAsInputResult {
  /** Model A's class (resolved from `'top'`). */
  target: number;
  /** Model B's class. */
  targetB: number;
  /** Model A (the explained model). */
  a: ExplanationAsInputScores;
  /** Model B (the second, different model). */
  b: ExplanationAsInputScores;
  /** The explanation's mask mean (L1 / size). */
  maskMean: number;
  /** Warnings of the `explain` run. */
  warnings: string[];
  /** The explanation, with `keepExplanation: true`. */
  explanation?: Explanation;
  /** Free the kept explanation. Idempotent. */
  dispose(): void;  /** Calls `dispose()` (what `using` calls at the end of the block). */
  [Symbol.dispose](): void;
}

/**
 * The explanation-as-input test: explains `target` on model A with the
 * preservation game, then shows the explanation `e` to the unmodified model A
 * and to a different model B over the same input space, beside each model's
 * score on the image and on the empty (all-reference) image. Real evidence
 * keeps B's score above its empty-image score; evidence tuned to A's
 * weights (adversarial) does not transfer.
 *
 * @param modelA The explained model.
 * @param modelB A second model taking the same input (same size and preprocessing) with comparable classes.
 * @param input `[H,W,C]` or `[1,H,W,C]` float32; not modified.
 * @param target Class index of model A, or `'top'`.
 * @param options See {@link ExplanationAsInputOptions}.
 */
export async function explanationAsInputTest(
  modelA: ExplainableModel,
  modelB: ExplainableModel,
  input: tf.Tensor,
  target: Target = 'top',
  options?: ExplanationAsInputOptions,
): Promise<ExplanationAsInputResult> {
  const fn = 'explanationAsInputTest';
  for (const [name, m] of [['modelA', modelA], ['modelB', modelB]] as const) {
    if (modelKind(m) === undefined) {
      throw new FgvisArgumentError(fn, name, `must be a tfjs GraphModel, a LayersModel or a function (x: Tensor4D) => Tensor, got ${describe(m)}`);
    }
  }
  const o = checkOptionsObject(fn, options, ['explain', 'targetB', 'scoresB', 'outputNodeB', 'keepExplanation']);
  const explainOptions = checkExplainOptions(fn, o.explain, 'options.explain', ['game']);
  const keep = o.keepExplanation ?? EXPLANATION_AS_INPUT_DEFAULTS.keepExplanation;
  if (typeof keep !== 'boolean') throw new FgvisArgumentError(fn, 'options.keepExplanation', `must be a boolean, got ${describe(keep)}`);

  const x = await checkImage(input, fn);
  let e: Explanation | null = null;
  let e4: tf.Tensor4D | null = null;
  try {
    const scorerA = await adaptModel(modelA, x, { scores: explainOptions.scores, outputNode: explainOptions.outputNode, caller: fn });
    const scorerB = await adaptModel(modelB, x, { scores: o.scoresB ?? EXPLANATION_AS_INPUT_DEFAULTS.scoresB, outputNode: o.outputNodeB, caller: fn });
    const probsA = await probsOf(scorerA, x);
    const probsB = await probsOf(scorerB, x);
    const c = resolveTarget(target, probsA, fn, 'target', modelLabels(modelA));
    const cB = o.targetB === undefined ? c : resolveTarget(o.targetB, probsB, fn, 'options.targetB', modelLabels(modelB));
    if (o.targetB === undefined && c >= probsB.length) {
      throw new FgvisArgumentError(fn, 'options.targetB', `is needed: model B has ${probsB.length} classes and target ${c} is not one of them`);
    }
    const [refA, refB] = await referenceScore([scorerA, scorerB], x, [c, cB], explainOptions, fn);
    e = await explain(modelA, input, c, { ...explainOptions, game: 'preservation' });
    e4 = tf.reshape(e.explanation, x.shape) as tf.Tensor4D;
    const onA = (await probsOf(scorerA, e4))[c]!;
    const onB = (await probsOf(scorerB, e4))[cB]!;
    // [Symbol.dispose] calls the current dispose(), which keepExplanation replaces below.
    const result: ExplanationAsInputResult = disposable<Omit<ExplanationAsInputResult, typeof Symbol.dispose>>({
      target: c,
      targetB: cB,
      a: { image: probsA[c]!, explanation: onA, reference: refA! },
      b: { image: probsB[cB]!, explanation: onB, reference: refB! },
      maskMean: e.maskMean,
      warnings: e.warnings,
      dispose() {},
    });
    if (keep) {
      const kept = e;
      e = null;
      let disposed = false;
      result.explanation = kept;
      result.dispose = () => {
        if (disposed) return;
        disposed = true;
        kept.dispose();
      };
    }
    return result;
  } finally {
    e4?.dispose();
    e?.dispose();
    x.dispose();
  }
}
