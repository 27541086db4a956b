/**
 * The options of `explain()`, their defaults (in one place) and their validation.
 *
 * @packageDocumentation
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError } from '../util/errors';
import { checkOptionNames, oneOf, positiveInteger } from '../util/validate';

export { checkOptionNames } from '../util/validate';
import { checkAutoLambdaOptions, type AutoLambdaOptions } from './lambda';
import { CLASS_TERMS, type ClassTermKind, type Game } from './loss';
import type { MaskParameterization } from './mask';
import { checkReference, type Reference } from '../util/reference';
import { checkLabels } from '../util/input';
import type { ScoresOption } from '../model/adapter';
import type { StepRecord } from './optimize';
import type { BackoffOptions, EarlyStopOptions } from './control';
import { DEFAULT_GATED_KERNELS } from '../filter/gated-kernels';
import { gatedKernelsOption } from '../filter/hook';

/** The run in progress, as `onStep` may look at it (valid only during the callback). */
export interface ExplainLive {
  /** Which explanation of the batch this is (`explainBatch()`); 0 for `explain()`. */
  readonly item: number;
  /**
   * The current mask (after this step's update), with the input's shape: a new
   * tensor owned by the caller. Costs a copy: call it only when you draw a preview.
   */
  mask(): Tensor;
  /**
   * The current explanation `m * x + (1 - m) * r` (after this step's update),
   * with the input's shape: a new tensor owned by the caller. Costs a copy.
   */
  explanation(): Tensor;
  /**
   * The current evidence (see `Explanation.evidence`: what the mask keeps, or
   * for the deletion game what it removes), with the input's shape: a new
   * tensor owned by the caller. Costs a copy.
   */
  evidence(): Tensor;
}

/** What `onStep` receives after each optimisation step. */
export interface ExplainStep extends StepRecord {
  /** 1-based step number. */
  step: number;
  /** The loss at the mask before this step's update. */
  loss: number;
  /** The target's softmax score on the explanation before this step's update. */
  score: number;
  /** The mask's mean value (L1 norm / size). */
  l1: number;
  /** The lambda in use at this step. */
  lambda: number;
}

/** Options of `explain()`. Every option is optional; defaults in {@link EXPLAIN_DEFAULTS}. */
export interface ExplainOptions {
  /** `'preservation'` (default): keep the score with few values; `'deletion'`: lose it by removing few. */
  game?: Game;
  /** Sparsity weight, or `'auto'` (default): adapted so that the explanation keeps (or loses) the score; see {@link AutoLambdaOptions}. */
  lambda?: number | 'auto';
  /** Tuning of the automatic lambda (tolerance of the score goal and the dual update). */
  autoLambda?: AutoLambdaOptions;
  /** Maximum number of optimisation steps; default 60 (150-190 forward passes on MobileNetV2 in `npm run bench`; early stopping may end sooner). */
  steps?: number;
  /** Optimiser step size; default 0.1 for Adam, 100 for SGD (plain per-pixel gradients are tiny). */
  learningRate?: number;
  /** `'adam'` (default) or `'sgd'` (the paper's). */
  optimizer?: 'adam' | 'sgd';
  /**
   * Adam's first-moment decay (its momentum), in [0, 1); default 0.9. Lower
   * values (0.5) give sparser masks but also let a fixed-lambda run build
   * evidence for an absent class more often (docs/defaults.md, "Lambda's
   * growth and momentum").
   * Not used by SGD.
   */
  beta1?: number;
  /** The defense against adversarial evidence (the paper's gradient filter); default true. */
  defense?: boolean;
  /**
   * Names of the kernels whose outputs the defense gates (activations such as
   * `'Relu'` and other layers such as `'Conv2D'`); default {@link DEFAULT_GATED_KERNELS}.
   */
  gatedKernels?: readonly string[];
  /** @deprecated Renamed {@link ExplainOptions.gatedKernels}; still accepted (not together with it). */
  activations?: readonly string[];
  /**
   * What removed values become: `'mean'` (default: the image's per-channel mean colour, chosen by
   * measurement, see docs/defaults.md), `'zero'` (the paper's r = 0), `'blur'`, `'noise'`, a constant
   * colour, or a tensor.
   */
  reference?: Reference;
  /** Blur sigma in pixels for `reference: 'blur'`; default 10. */
  blurSigma?: number;
  /** The class term; default `'log-score'` to preserve and `'log-complement'` to delete (see {@link ClassTermKind}). */
  classTerm?: ClassTermKind;
  /** How the mask is kept in [0, 1]; default `'clip'`. */
  parameterization?: MaskParameterization;
  /** How to read the model's output; default `'auto'`. */
  scores?: ScoresOption;
  /** Output node (GraphModel) or output name (LayersModel) for models with several outputs. */
  outputNode?: string;
  /** Early stopping, or `false` to always run `steps` steps; default on. */
  earlyStop?: EarlyStopOptions | false;
  /** The automatic lambda's back-off guard, or `false`; default on (see `BackoffOptions`). */
  backoff?: BackoffOptions | false;
  /**
   * Progress callback for every step, called after each read (see `readEvery`), in
   * step order; may be async (awaited). It never changes the run's decisions.
   */
  onStep?: (step: ExplainStep, live: ExplainLive) => void | Promise<void>;
  /** Abort the run: the call rejects with the signal's reason and leaves nothing behind. */
  signal?: AbortSignal;
  /** Seed for anything random (the `'noise'` reference). */
  seed?: number;
  /**
   * The model's class names in output order, so that `target` may be a class
   * name (matched case-insensitively). Default: the names the model carries
   * (`withLabels`; the built-in models of `fgvis/node` carry theirs).
   */
  labels?: readonly string[];
  /**
   * The run reads its records from the device, and takes its decisions (early
   * stopping, the back-off guard), every this many steps; default 10. The
   * schedule does not depend on `onStep`: the same call gives the same result
   * whether or not anyone watches. `onStep` receives the records after each
   * read, in step order (a batch of up to `readEvery` at a time).
   */
  readEvery?: number;
}

/** The defaults of `explain()`, in one place. */
export const EXPLAIN_DEFAULTS = {
  game: 'preservation',
  lambda: 'auto',
  steps: 60,
  learningRate: { adam: 0.1, sgd: 100 },
  optimizer: 'adam',
  beta1: 0.9,
  defense: true,
  gatedKernels: DEFAULT_GATED_KERNELS,
  /** @deprecated Renamed `gatedKernels`. */
  activations: DEFAULT_GATED_KERNELS,
  reference: 'mean',
  blurSigma: 10,
  parameterization: 'clip',
  scores: 'auto',
  earlyStop: { patience: 20, minDelta: 0.002, minSteps: 30 },
  backoff: { after: 5, maxBackoffs: 4, learningRateFactor: 0.5, lambdaFactor: 0.5 },
  readEvery: 10,
} as const;

/** The option names `explain()` accepts. */
export const EXPLAIN_OPTION_NAMES = [
  'game', 'lambda', 'autoLambda', 'steps', 'learningRate', 'optimizer', 'beta1', 'defense', 'gatedKernels', 'reference',
  'blurSigma', 'classTerm', 'parameterization', 'scores', 'outputNode', 'earlyStop', 'backoff', 'onStep', 'signal', 'seed',
  'labels', 'readEvery', 'activations',
] as const;

/** Options after validation and defaults. */
export interface ResolvedExplainOptions {
  game: Game;
  lambda: number | 'auto';
  autoLambda: AutoLambdaOptions;
  steps: number;
  learningRate: number;
  optimizer: 'adam' | 'sgd';
  beta1: number;
  defense: boolean;
  /** The kernels whose outputs the defense gates. */
  gatedKernels: readonly string[];
  reference: Reference;
  blurSigma: number;
  classTerm: ClassTermKind | undefined;
  parameterization: MaskParameterization;
  scores: ScoresOption;
  outputNode: string | undefined;
  earlyStop: Required<EarlyStopOptions> | false;
  backoff: Required<BackoffOptions> | false;
  onStep: ExplainOptions['onStep'];
  signal: AbortSignal | undefined;
  seed: number | undefined;
  labels: readonly string[] | undefined;
  readEvery: number;
}

/** Validate `explain()` options and fill in the defaults. Throws naming the option. */
export function resolveExplainOptions(options: ExplainOptions | undefined, fn = 'explain'): ResolvedExplainOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FgvisArgumentError(fn, 'options', `must be an object, got ${describe(options)}`);
  }
  checkOptionNames(fn, options, EXPLAIN_OPTION_NAMES);
  const o = options;
  const D = EXPLAIN_DEFAULTS;
  const game = oneOf(fn, 'game', o.game ?? D.game, ['preservation', 'deletion'] as const);
  const optimizer = oneOf(fn, 'optimizer', o.optimizer ?? D.optimizer, ['adam', 'sgd'] as const);
  const lambda = o.lambda ?? D.lambda;
  if (lambda !== 'auto' && (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0)) {
    throw new FgvisArgumentError(fn, 'options.lambda', `must be 'auto' or a non-negative finite number, got ${describe(lambda)}`);
  }
  const autoLambda = o.autoLambda ?? {};
  if (typeof autoLambda !== 'object' || autoLambda === null || Array.isArray(autoLambda)) {
    throw new FgvisArgumentError(fn, 'options.autoLambda', `must be an object, got ${describe(autoLambda)}`);
  }
  checkAutoLambdaOptions(fn, autoLambda);
  const steps = positiveInteger(fn, 'steps', o.steps ?? D.steps);
  const learningRate = o.learningRate ?? D.learningRate[optimizer];
  if (typeof learningRate !== 'number' || !(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new FgvisArgumentError(fn, 'options.learningRate', `must be a positive finite number, got ${describe(learningRate)}`);
  }
  const beta1 = o.beta1 ?? D.beta1;
  if (typeof beta1 !== 'number' || !(beta1 >= 0 && beta1 < 1)) {
    throw new FgvisArgumentError(fn, 'options.beta1', `must be a number in [0, 1), got ${describe(beta1)}`);
  }
  const defense = o.defense ?? D.defense;
  if (typeof defense !== 'boolean') throw new FgvisArgumentError(fn, 'options.defense', `must be a boolean, got ${describe(defense)}`);
  const gatedOption = gatedKernelsOption(fn, o);
  const gatedKernels = gatedOption.list ?? D.gatedKernels;
  if (!Array.isArray(gatedKernels) || gatedKernels.some((a) => typeof a !== 'string' || a.length === 0)) {
    throw new FgvisArgumentError(fn, gatedOption.argument, `must be an array of kernel names, got ${describe(gatedKernels)}`);
  }
  const reference = checkReference(fn, 'reference', o.reference ?? D.reference);
  const blurSigma = o.blurSigma ?? D.blurSigma;
  if (typeof blurSigma !== 'number' || !(blurSigma > 0) || !Number.isFinite(blurSigma)) {
    throw new FgvisArgumentError(fn, 'options.blurSigma', `must be a positive number, got ${describe(blurSigma)}`);
  }
  const classTerm = o.classTerm === undefined ? undefined : oneOf(fn, 'classTerm', o.classTerm, CLASS_TERMS);
  const parameterization = oneOf(fn, 'parameterization', o.parameterization ?? D.parameterization, ['clip', 'sigmoid'] as const);
  const scores = oneOf(fn, 'scores', o.scores ?? D.scores, ['auto', 'probabilities', 'logits'] as const);
  if (o.outputNode !== undefined && (typeof o.outputNode !== 'string' || o.outputNode.length === 0)) {
    throw new FgvisArgumentError(fn, 'options.outputNode', `must be a non-empty string, got ${describe(o.outputNode)}`);
  }
  let earlyStop: Required<EarlyStopOptions> | false = false;
  if (o.earlyStop !== false) {
    const e = o.earlyStop ?? {};
    if (typeof e !== 'object' || e === null || Array.isArray(e)) {
      throw new FgvisArgumentError(fn, 'options.earlyStop', `must be false or an object, got ${describe(e)}`);
    }
    checkOptionNames(fn, e, ['patience', 'minDelta', 'minSteps'], 'options.earlyStop');
    earlyStop = { ...D.earlyStop, ...e };
    positiveInteger(fn, 'earlyStop.patience', earlyStop.patience);
    positiveInteger(fn, 'earlyStop.minSteps', earlyStop.minSteps);
    if (typeof earlyStop.minDelta !== 'number' || !(earlyStop.minDelta >= 0)) {
      throw new FgvisArgumentError(fn, 'options.earlyStop.minDelta', `must be a non-negative number, got ${describe(earlyStop.minDelta)}`);
    }
  }
  let backoff: Required<BackoffOptions> | false = false;
  if (o.backoff !== false) {
    const b = o.backoff ?? {};
    if (typeof b !== 'object' || b === null || Array.isArray(b)) {
      throw new FgvisArgumentError(fn, 'options.backoff', `must be false or an object, got ${describe(b)}`);
    }
    checkOptionNames(fn, b, ['after', 'maxBackoffs', 'learningRateFactor', 'lambdaFactor'], 'options.backoff');
    backoff = { ...D.backoff, ...b };
    positiveInteger(fn, 'backoff.after', backoff.after);
    if (!Number.isInteger(backoff.maxBackoffs) || backoff.maxBackoffs < 0) {
      throw new FgvisArgumentError(fn, 'options.backoff.maxBackoffs', `must be a non-negative integer, got ${describe(backoff.maxBackoffs)}`);
    }
    for (const k of ['learningRateFactor', 'lambdaFactor'] as const) {
      const v = backoff[k];
      if (typeof v !== 'number' || !(v > 0 && v <= 1)) {
        throw new FgvisArgumentError(fn, `options.backoff.${k}`, `must be a number in (0, 1], got ${describe(v)}`);
      }
    }
  }
  if (o.onStep !== undefined && typeof o.onStep !== 'function') {
    throw new FgvisArgumentError(fn, 'options.onStep', `must be a function, got ${describe(o.onStep)}`);
  }
  const signal = o.signal;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof (signal as AbortSignal).aborted !== 'boolean')) {
    throw new FgvisArgumentError(fn, 'options.signal', `must be an AbortSignal, got ${describe(signal)}`);
  }
  if (o.seed !== undefined && (typeof o.seed !== 'number' || !Number.isFinite(o.seed))) {
    throw new FgvisArgumentError(fn, 'options.seed', `must be a finite number, got ${describe(o.seed)}`);
  }
  const labels = o.labels === undefined ? undefined : checkLabels(fn, o.labels);
  const readEvery = positiveInteger(fn, 'readEvery', o.readEvery ?? D.readEvery);
  return {
    game, lambda, autoLambda, steps, learningRate, optimizer, beta1, defense, gatedKernels, reference,
    blurSigma, classTerm, parameterization, scores, outputNode: o.outputNode, earlyStop, backoff, onStep: o.onStep, signal, seed: o.seed,
    labels, readEvery,
  };
}
