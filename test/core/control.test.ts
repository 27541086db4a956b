import { describe, expect, it } from 'vitest';
import { RunControl, type RunControlOptions } from '../../src/core/control';
import type { StepRecord } from '../../src/core/optimize';

const rec = (step: number, score: number, l1: number): StepRecord => ({ step, score, l1, loss: 0, lambda: 1 });
const preserve = (o: Partial<RunControlOptions>): RunControl =>
  new RunControl({ game: 'preservation', goal: { direction: 'atLeast', score: 0.9 }, earlyStop: false, backoff: false, autoLambda: true, ...o });

describe('run control', () => {
  it('stops early once the sparsest iterate meeting the goal stops improving, and at once when it cannot improve', () => {
    const c = preserve({ earlyStop: { patience: 5, minDelta: 0.01, minSteps: 3 } });
    for (const r of [rec(1, 0.95, 1), rec(2, 0.95, 0.5), rec(3, 0.5, 0.1)]) c.observe(r);
    expect(c.shouldStop).toBe(false);
    for (let s = 4; s <= 6; s++) c.observe(rec(s, 0.95, 0.499)); // not better by minDelta
    expect(c.shouldStop).toBe(false);
    c.observe(rec(7, 0.95, 0.5));
    expect(c.shouldStop).toBe(true); // best (0.5 at step 2) unchanged for 5 steps
    const empty = preserve({ goal: { direction: 'atLeast', score: -0.01 }, earlyStop: { patience: 50, minDelta: 0, minSteps: 100 } });
    empty.observe(rec(1, 0.1, 1));
    expect(empty.shouldStop).toBe(false);
    empty.observe(rec(2, 0.1, 0));
    expect(empty.shouldStop).toBe(true);
  });

  it('makes a back-off due after the goal was missed for `after` steps, and stops when none is left', () => {
    const c = preserve({ backoff: { after: 3, maxBackoffs: 1, learningRateFactor: 0.5, lambdaFactor: 0.25 } });
    for (const r of [rec(1, 0.95, 0.3), rec(2, 0.5, 0.1), rec(3, 0.5, 0.1)]) c.observe(r);
    expect(c.backoffDue).toBe(false);
    c.observe(rec(4, 0.5, 0.1));
    expect(c.backoffDue).toBe(true);
    expect(c.shouldStop).toBe(false);
    // The predicates have no side effects: asking again gives the same answers.
    expect(c.backoffDue).toBe(true);
    expect(c.backoffs).toBe(0);
    c.backedOff();
    expect(c.backoffs).toBe(1);
    expect(c.backoffDue).toBe(false);
    // Missing again after the last allowed back-off stops the run.
    for (const r of [rec(5, 0.5, 0.1), rec(6, 0.5, 0.1)]) c.observe(r);
    expect(c.shouldStop).toBe(false);
    c.observe(rec(7, 0.5, 0.1));
    expect(c.backoffDue).toBe(false);
    expect(c.shouldStop).toBe(true);
  });

  it('never backs off before the goal was met, nor with a fixed lambda', () => {
    const backoff = { after: 2, maxBackoffs: 4, learningRateFactor: 0.5, lambdaFactor: 0.5 };
    const never = preserve({ backoff });
    for (let s = 1; s <= 5; s++) never.observe(rec(s, 0.1, 1));
    expect(never.backoffDue).toBe(false);
    expect(never.shouldStop).toBe(false);
    const fixed = preserve({ backoff, autoLambda: false });
    for (const r of [rec(1, 0.95, 1), rec(2, 0.1, 1), rec(3, 0.1, 1)]) fixed.observe(r);
    expect(fixed.backoffDue).toBe(false);
    expect(fixed.shouldStop).toBe(false);
  });

  it('holds the back-off while the score recovers towards the goal, and backs off once it stalls', () => {
    const c = preserve({ backoff: { after: 3, maxBackoffs: 2, learningRateFactor: 0.5, lambdaFactor: 0.5 } });
    c.observe(rec(1, 0.95, 0.5));
    // Missed for 5 steps, but each step closer to the goal (0.9) than 3 steps before.
    [0.6, 0.7, 0.8, 0.85, 0.88].forEach((score, i) => c.observe(rec(2 + i, score, 0.05)));
    expect(c.backoffDue).toBe(false);
    expect(c.shouldStop).toBe(false);
    // Stalled: no closer than 3 steps before.
    [0.87, 0.88, 0.87].forEach((score, i) => c.observe(rec(7 + i, score, 0.05)));
    expect(c.backoffDue).toBe(true);
    c.backedOff();
    expect(c.backoffDue).toBe(false);
    // The deletion game recovers downwards.
    const d = new RunControl({ game: 'deletion', goal: { direction: 'atMost', score: 0.1 }, earlyStop: false, backoff: { after: 2, maxBackoffs: 1, learningRateFactor: 0.5, lambdaFactor: 0.5 }, autoLambda: true });
    d.observe(rec(1, 0.05, 0.9));
    [0.5, 0.4, 0.3].forEach((score, i) => d.observe(rec(2 + i, score, 0.99)));
    expect(d.backoffDue).toBe(false);
    [0.31, 0.3].forEach((score, i) => d.observe(rec(5 + i, score, 0.99)));
    expect(d.backoffDue).toBe(true);
  });

  it('does not stop early while a missed goal is being recovered', () => {
    const c = preserve({ earlyStop: { patience: 3, minDelta: 0, minSteps: 1 } });
    c.observe(rec(1, 0.95, 0.5));
    [0.5, 0.6, 0.65, 0.7, 0.75, 0.8].forEach((score, i) => c.observe(rec(2 + i, score, 0.05)));
    expect(c.shouldStop).toBe(false); // best unchanged for 6 steps, but the score is on its way back
    [0.8, 0.8, 0.8, 0.8, 0.8].forEach((score, i) => c.observe(rec(8 + i, score, 0.05)));
    expect(c.shouldStop).toBe(true);
  });
});
