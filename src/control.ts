/**
 * Run control for `explain()`: early stopping, and the back-off guard of the
 * automatic lambda. Both look only at the history read from the device (no
 * extra reads) and act between steps.
 *
 * - Early stopping: stop once the sparsest iterate that met the score goal has
 *   not improved by `minDelta` for `patience` steps (after `minSteps`), or at
 *   once when it cannot improve any more (sparsity 0).
 * - Back-off: Adam moves every mask value by about the learning rate per step
 *   wherever the class gradient is small, so a run can lose the class within a
 *   few steps and, once the score saturates or the defense blocks the way back,
 *   never recover. When the goal has been missed for `after` steps in a row,
 *   the guard restores the sparsest iterate that met it, restarts the
 *   optimiser, and scales the learning rate and lambda down.
 *
 * @packageDocumentation
 */
import type { AutoLambda, ScoreGoal } from './lambda';
import type { Game } from './loss';
import type { Optimizer, StepRecord } from './optimize';

/** Early stopping (see {@link RunControlOptions}). */
export interface EarlyStopOptions {
  /** Steps without improvement before stopping; default 40. */
  patience?: number;
  /** Smallest decrease of the sparsity term that counts as improvement; default 0.002. */
  minDelta?: number;
  /** Never stop before this step (unless nothing can improve); default 60. */
  minSteps?: number;
}

/** The back-off guard of the automatic lambda. */
export interface BackoffOptions {
  /** Consecutive steps missing the goal that trigger a back-off; default 10. */
  after?: number;
  /** At most this many back-offs per run; default 4. */
  maxBackoffs?: number;
  /** Learning-rate factor per back-off; default 0.5. */
  learningRateFactor?: number;
  /** Lambda factor per back-off (applied to the lambda of the restored iterate); default 0.5. */
  lambdaFactor?: number;
}

/** What a run controller needs to act on. */
export interface RunControlOptions {
  game: Game;
  goal: ScoreGoal | undefined;
  earlyStop: Required<EarlyStopOptions> | false;
  backoff: Required<BackoffOptions> | false;
  /** Automatic-lambda state, when lambda is automatic. */
  auto: AutoLambda | null;
  optimizer: Optimizer;
  /** Writes values into the mask (for a restore). */
  assignMask: (values: import('@tensorflow/tfjs-core').Tensor) => void;
}

/** Whether a step met the goal (always true without a goal). */
export function metGoal(goal: ScoreGoal | undefined, score: number): boolean {
  if (goal === undefined) return true;
  return goal.direction === 'atLeast' ? score >= goal.score : score <= goal.score;
}

/** The controller: a `shouldStop` callback for `optimize()`, and the count of back-offs. */
export function runController(options: RunControlOptions): {
  shouldStop: (history: readonly StepRecord[]) => boolean;
  readonly backoffs: number;
} {
  const { game, goal, earlyStop, backoff, auto, optimizer, assignMask } = options;
  let best = Infinity;
  let bestStep = 0;
  let seen = 0;
  let missed = 0;
  let backoffs = 0;
  let everMet = false;
  const shouldStop = (history: readonly StepRecord[]): boolean => {
    for (; seen < history.length; seen++) {
      const h = history[seen]!;
      const met = metGoal(goal, h.score!);
      missed = met ? 0 : missed + 1;
      everMet ||= met;
      const sparsity = game === 'preservation' ? h.l1! : 1 - h.l1!;
      if (met && sparsity < best - (earlyStop ? earlyStop.minDelta : 0)) {
        best = sparsity;
        bestStep = h.step;
      }
    }
    const last = history[history.length - 1];
    if (last === undefined) return false;
    if (backoff && auto && everMet && missed >= backoff.after) {
      if (backoffs >= backoff.maxBackoffs) return true;
      if (auto.restoreBest(assignMask, backoff.lambdaFactor)) {
        backoffs += 1;
        missed = 0;
        bestStep = last.step;
        optimizer.reset();
        optimizer.learningRate *= backoff.learningRateFactor;
      }
    }
    if (!earlyStop) return false;
    if (bestStep > 0 && best <= 0) return true;
    if (last.step < earlyStop.minSteps || bestStep === 0) return false;
    return last.step - bestStep >= earlyStop.patience;
  };
  return {
    shouldStop,
    get backoffs() {
      return backoffs;
    },
  };
}
