/**
 * Run control for `explain()`: early stopping, and the back-off guard of the
 * automatic lambda. A {@link RunControl} watches the records read from the
 * device (no extra reads) and says what is due; the run acts on it between
 * steps. Its predicates have no side effects.
 *
 * - Early stopping: stop once the sparsest iterate that met the score goal has
 *   not improved by `minDelta` for `patience` steps (after `minSteps`), or at
 *   once when it cannot improve any more (sparsity 0).
 * - Back-off: Adam moves every mask value by about the learning rate per step
 *   wherever the class gradient is small, so a run can lose the class within a
 *   few steps and, once the score saturates or the defense blocks the way back,
 *   never recover. When the goal has been missed for `after` steps in a row
 *   and the score is not recovering (it is no closer to the goal than `after`
 *   steps before), a back-off is due: the run restores the sparsest iterate
 *   that met it, restarts the optimiser, and scales the learning rate and
 *   lambda down. While a missed goal is being recovered, early stopping waits
 *   too: the sparser iterate on its way back is the improvement it waits for.
 *   (Restoring then threw away sparse masks a few steps from the goal for an
 *   evenly dimmed one: docs/defaults.md, "Lambda's growth and momentum".)
 *
 * @packageDocumentation
 */
import type { ScoreGoal } from './lambda';
import type { Game } from './loss';
import type { StepRecord } from './optimize';

/** Early stopping (see {@link RunControl}). */
export interface EarlyStopOptions {
  /** Steps without improvement before stopping; default 20. */
  patience?: number;
  /** Smallest decrease of the sparsity term that counts as improvement; default 0.002. */
  minDelta?: number;
  /** Never stop before this step (unless nothing can improve); default 30. */
  minSteps?: number;
}

/** The back-off guard of the automatic lambda. */
export interface BackoffOptions {
  /** Consecutive steps missing the goal that trigger a back-off, unless the score is closer to the goal than this many steps before; default 5. */
  after?: number;
  /** At most this many back-offs per run; default 4. */
  maxBackoffs?: number;
  /** Learning-rate factor per back-off; default 0.5. */
  learningRateFactor?: number;
  /** Lambda factor per back-off (applied to the lambda of the restored iterate); default 0.5. */
  lambdaFactor?: number;
}

/** What a {@link RunControl} watches. */
export interface RunControlOptions {
  game: Game;
  /** The score goal (absent for a fixed lambda: every step meets it). */
  goal: ScoreGoal | undefined;
  earlyStop: Required<EarlyStopOptions> | false;
  /** The guard; it only acts with an automatic lambda (`autoLambda: true`). */
  backoff: Required<BackoffOptions> | false;
  /** Whether lambda is automatic (there is a best iterate to go back to). */
  autoLambda: boolean;
}

/** Whether a step met the goal (always true without a goal). */
export function metGoal(goal: ScoreGoal | undefined, score: number): boolean {
  if (goal === undefined) return true;
  return goal.direction === 'atLeast' ? score >= goal.score : score <= goal.score;
}

/**
 * Early stopping and the back-off guard of one explanation. Feed it every
 * record with {@link RunControl.observe}; then ask {@link RunControl.backoffDue}
 * (and report a back-off done with {@link RunControl.backedOff}) and
 * {@link RunControl.shouldStop}. Holds no tensors.
 */
export class RunControl {
  private readonly options: RunControlOptions;
  private best = Infinity;
  private bestStep = 0;
  private lastStep = 0;
  private missed = 0;
  private everMet = false;
  private count = 0;
  /** The scores of the last steps (at most the back-off window + 1), oldest first. */
  private recent: number[] = [];

  /** @param options The game, the goal and the rules. */
  constructor(options: RunControlOptions) {
    this.options = options;
  }

  /** Take one step's record (in step order). */
  observe(record: StepRecord): void {
    const { goal, game, earlyStop } = this.options;
    const met = metGoal(goal, record.score!);
    this.missed = met ? 0 : this.missed + 1;
    this.everMet ||= met;
    this.recent.push(record.score!);
    if (this.recent.length > this.window + 1) this.recent.shift();
    const sparsity = game === 'preservation' ? record.l1! : 1 - record.l1!;
    if (met && sparsity < this.best - (earlyStop ? earlyStop.minDelta : 0)) {
      this.best = sparsity;
      this.bestStep = record.step;
    }
    this.lastStep = record.step;
  }

  /** The goal has been missed for `backoff.after` steps in a row since it was last met, and the score is not recovering. */
  private get missing(): boolean {
    const { backoff, autoLambda } = this.options;
    return backoff !== false && autoLambda && this.everMet && this.missed >= backoff.after && !this.recovering;
  }

  /** Steps over which recovery is judged: the back-off's `after` (5 without the guard). */
  private get window(): number {
    return this.options.backoff ? this.options.backoff.after : 5;
  }

  /** The score is closer to the goal than it was `window` steps before. */
  private get recovering(): boolean {
    const { goal } = this.options;
    if (goal === undefined || this.recent.length < 2) return false;
    const then = this.recent[0]!;
    const now = this.recent[this.recent.length - 1]!;
    return goal.direction === 'atLeast' ? now > then : now < then;
  }

  /** A back-off is due (and allowed): restore the best iterate, then call {@link RunControl.backedOff}. */
  get backoffDue(): boolean {
    const { backoff } = this.options;
    return this.missing && backoff !== false && this.count < backoff.maxBackoffs;
  }

  /** Record that the run backed off after the last observed step. */
  backedOff(): void {
    this.count += 1;
    this.missed = 0;
    this.bestStep = this.lastStep;
    this.recent = [];
  }

  /** How many back-offs were done. */
  get backoffs(): number {
    return this.count;
  }

  /** Whether the run should stop now (no side effects). */
  get shouldStop(): boolean {
    const { earlyStop } = this.options;
    if (this.lastStep === 0) return false;
    if (this.missing && !this.backoffDue) return true; // the goal is lost and no back-off is left
    if (!earlyStop) return false;
    if (this.bestStep > 0 && this.best <= 0) return true;
    if (this.lastStep < earlyStop.minSteps || this.bestStep === 0) return false;
    if (this.missed > 0 && this.recovering) return false; // a sparser iterate is on its way back to the goal
    return this.lastStep - this.bestStep >= earlyStop.patience;
  }
}
