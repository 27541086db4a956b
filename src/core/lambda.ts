/**
 * Automatic lambda: the sparsity weight is a dual variable, adapted inside
 * one optimisation run so that the explanation keeps (preservation) or loses
 * (deletion) the target's softmax score, and the sparsest mask that met the
 * goal is kept. Everything stays on the device: no read stalls the loop.
 *
 * Rule, per step, with `s` the target's score on the current explanation:
 * - the goal holds (`s >= scoreImage - tolerance` to preserve,
 *   `s <= deletionGoal` to delete): `log lambda += increase` (ask for a sparser mask);
 * - it fails: `log lambda -= decrease` (back off).
 * Among the iterates that met the goal, the one with the smallest sparsity
 * term is kept, with the lambda it was found with.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, FgvisArgumentError } from '../util/errors';
import { checkOptionNames } from '../util/validate';
import type { Game } from './loss';

/** Options of the automatic lambda. Defaults in {@link AUTO_LAMBDA_DEFAULTS}. */
export interface AutoLambdaOptions {
  /** Preservation: the explanation's score may fall at most this much below the image's (absolute). */
  tolerance?: number;
  /**
   * Deletion: the score the explanation must fall to, as a fraction of the way
   * from the reference's score (0) to the image's (1).
   */
  deletionFraction?: number;
  /** Starting lambda. */
  initial?: number;
  /** Growth of log lambda per step while the goal holds. */
  increase?: number;
  /** Decrease of log lambda per step while it fails. */
  decrease?: number;
  /** Bounds on lambda. */
  min?: number;
  /** Bounds on lambda. */
  max?: number;
}

/** Defaults of the automatic lambda (one place). */
export const AUTO_LAMBDA_DEFAULTS: Required<AutoLambdaOptions> = {
  tolerance: 0.01,
  deletionFraction: 0.1,
  initial: 1,
  increase: 0.2,
  decrease: 0.2,
  min: 1e-4,
  max: 1e4,
};

/** The options over their defaults; an option given as `undefined` takes its default. */
function withDefaults(options: AutoLambdaOptions): Required<AutoLambdaOptions> {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as AutoLambdaOptions;
  return { ...AUTO_LAMBDA_DEFAULTS, ...given };
}

/** The score goal of a game. */
export interface ScoreGoal {
  /** `'atLeast'` (preservation) or `'atMost'` (deletion). */
  readonly direction: 'atLeast' | 'atMost';
  /** The score bound. */
  readonly score: number;
}

/** The goal for a game from the image's and the reference's target scores. */
export function scoreGoal(game: Game, scoreImage: number, scoreReference: number, options: AutoLambdaOptions = {}): ScoreGoal {
  const fn = 'scoreGoal';
  if (game !== 'preservation' && game !== 'deletion') {
    throw new FgvisArgumentError(fn, 'game', `must be 'preservation' or 'deletion', got ${describe(game)}`);
  }
  for (const [name, v] of [['scoreImage', scoreImage], ['scoreReference', scoreReference]] as const) {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new FgvisArgumentError(fn, name, `must be a probability in [0, 1], got ${describe(v)}`);
  }
  checkAutoLambdaOptions(fn, options, 'options');
  const o = withDefaults(options);
  if (game === 'preservation') return { direction: 'atLeast', score: scoreImage - o.tolerance };
  const floor = Math.min(scoreReference, scoreImage);
  return { direction: 'atMost', score: floor + o.deletionFraction * (scoreImage - floor) };
}

/** Validate automatic-lambda options (names the option in the error). */
export function checkAutoLambdaOptions(fn: string, options: AutoLambdaOptions, prefix = 'options.autoLambda'): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new FgvisArgumentError(fn, prefix, `must be an object, got ${describe(options)}`);
  }
  checkOptionNames(fn, options, Object.keys(AUTO_LAMBDA_DEFAULTS), prefix);
  for (const [k, v] of Object.entries(options)) {
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new FgvisArgumentError(fn, `${prefix}.${k}`, `must be a non-negative finite number, got ${describe(v)}`);
    }
  }
  const o = withDefaults(options);
  if (!(o.initial > 0)) throw new FgvisArgumentError(fn, `${prefix}.initial`, `must be positive, got ${describe(o.initial)}`);
  if (!(o.min > 0 && o.min <= o.max)) {
    throw new FgvisArgumentError(fn, `${prefix}.min`, `must be positive and at most ${prefix}.max, got min ${o.min} and max ${o.max}`);
  }
  if (o.deletionFraction > 1) throw new FgvisArgumentError(fn, `${prefix}.deletionFraction`, `must be in [0, 1], got ${o.deletionFraction}`);
}

/**
 * The dual-variable state of the automatic lambda, on the device. Owns its
 * tensors: call `dispose`.
 */
export class AutoLambda {
  /** Current lambda (a scalar on the device). */
  lambda: tf.Scalar;
  private readonly goal: ScoreGoal;
  private readonly options: Required<AutoLambdaOptions>;
  private best: tf.Tensor | null = null;
  private bestSparsity: tf.Scalar;
  private bestLambda: tf.Scalar;

  constructor(goal: ScoreGoal, options: AutoLambdaOptions = {}) {
    const fn = 'AutoLambda';
    if (goal === null || typeof goal !== 'object') throw new FgvisArgumentError(fn, 'goal', `must be a ScoreGoal { direction, score }, got ${describe(goal)}`);
    if (goal.direction !== 'atLeast' && goal.direction !== 'atMost') {
      throw new FgvisArgumentError(fn, 'goal.direction', `must be 'atLeast' or 'atMost', got ${describe(goal.direction)}`);
    }
    if (typeof goal.score !== 'number' || !Number.isFinite(goal.score)) {
      throw new FgvisArgumentError(fn, 'goal.score', `must be a finite number, got ${describe(goal.score)}`);
    }
    checkAutoLambdaOptions(fn, options, 'options');
    this.goal = goal;
    this.options = withDefaults(options);
    this.lambda = tf.scalar(Math.min(this.options.max, Math.max(this.options.min, this.options.initial)));
    // Sparsity terms lie in [0, 1]: 2 means "nothing met the goal yet".
    this.bestSparsity = tf.scalar(2);
    this.bestLambda = tf.scalar(this.options.initial);
  }

  /**
   * Record the iterate `m` (its score and unweighted sparsity term were
   * measured on it) and update lambda. Tensors given are not disposed.
   */
  observe(m: tf.Tensor, score: tf.Scalar, sparsity: tf.Scalar): void {
    const { increase, decrease, min, max } = this.options;
    const [lambda, best, bestSparsity, bestLambda] = tf.tidy(() => {
      const met = tf.cast(
        this.goal.direction === 'atLeast' ? tf.greaterEqual(score, this.goal.score) : tf.lessEqual(score, this.goal.score),
        'float32',
      );
      const better = tf.mul(met, tf.cast(tf.less(sparsity, this.bestSparsity), 'float32'));
      const keep = tf.sub(1, better);
      // best*(1-b) + m*b is exactly m when b = 1 (unlike best + b*(m - best)).
      const nextBest = this.best === null ? tf.mul(m, better) : tf.add(tf.mul(this.best, keep), tf.mul(m, better));
      const nextSparsity = tf.add(tf.mul(this.bestSparsity, keep), tf.mul(sparsity, better));
      const nextBestLambda = tf.add(tf.mul(this.bestLambda, keep), tf.mul(this.lambda, better));
      const logStep = tf.sub(tf.mul(met, increase + decrease), decrease);
      const nextLambda = tf.clipByValue(tf.mul(this.lambda, tf.exp(logStep)), min, max);
      return [nextLambda, nextBest, nextSparsity, nextBestLambda];
    });
    this.lambda.dispose();
    this.best?.dispose();
    this.bestSparsity.dispose();
    this.bestLambda.dispose();
    this.lambda = lambda as tf.Scalar;
    this.best = best!;
    this.bestSparsity = bestSparsity as tf.Scalar;
    this.bestLambda = bestLambda as tf.Scalar;
  }

  /**
   * The sparsest iterate that met the goal with the lambda it was found
   * with, or `null` when none did. Reads two scalars; the returned tensor is
   * a new one owned by the caller.
   */
  async bestIterate(): Promise<{ mask: tf.Tensor; lambda: number } | null> {
    if (this.best === null) return null;
    const [sparsity] = await this.bestSparsity.data();
    if (sparsity! > 1) return null;
    const [lambda] = await this.bestLambda.data();
    return { mask: tf.clone(this.best), lambda: lambda! };
  }

  /**
   * Back off: put the sparsest iterate that met the goal back into `assign`
   * (e.g. a mask's `assign`) and restart lambda from the value it was found
   * with times `lambdaFactor`. Returns false (and changes nothing) when no
   * iterate met the goal yet. Synchronous: no device read.
   */
  restoreBest(assign: (values: tf.Tensor) => void, lambdaFactor: number): boolean {
    if (this.best === null) return false;
    const { min, max } = this.options;
    const lambda = tf.tidy(() => tf.clipByValue(tf.mul(this.bestLambda, lambdaFactor), min, max) as tf.Scalar);
    assign(this.best);
    this.lambda.dispose();
    this.lambda = lambda;
    return true;
  }

  /** The current lambda, read asynchronously. */
  async current(): Promise<number> {
    return (await this.lambda.data())[0]!;
  }

  /** Free the state. Idempotent. */
  dispose(): void {
    tf.dispose([this.lambda, this.bestSparsity, this.bestLambda]);
    this.best?.dispose();
    this.best = null;
  }
}
