import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { runController } from '../../src/control';
import { AutoLambda } from '../../src/lambda';
import { adam, type StepRecord } from '../../src/optimize';
import { describeEachBackend } from '../backends';

const rec = (step: number, score: number, l1: number): StepRecord => ({ step, score, l1, loss: 0, lambda: 1 });

describeEachBackend('run control', () => {
  it('stops early once the sparsest iterate meeting the goal stops improving, and at once when it cannot improve', () => {
    const c = runController({
      game: 'preservation',
      goal: { direction: 'atLeast', score: 0.9 },
      earlyStop: { patience: 5, minDelta: 0.01, minSteps: 3 },
      backoff: false,
      auto: null,
      optimizer: adam(),
      assignMask: () => {},
    });
    const h: StepRecord[] = [rec(1, 0.95, 1), rec(2, 0.95, 0.5), rec(3, 0.5, 0.1)];
    expect(c.shouldStop(h)).toBe(false);
    for (let s = 4; s <= 6; s++) h.push(rec(s, 0.95, 0.499));
    expect(c.shouldStop(h)).toBe(false);
    h.push(rec(7, 0.95, 0.5));
    expect(c.shouldStop(h)).toBe(true); // best (0.5 at step 2) unchanged for 5 steps
    const empty = runController({
      game: 'preservation', goal: { direction: 'atLeast', score: -0.01 }, earlyStop: { patience: 50, minDelta: 0, minSteps: 100 },
      backoff: false, auto: null, optimizer: adam(), assignMask: () => {},
    });
    expect(empty.shouldStop([rec(1, 0.1, 1), rec(2, 0.1, 0)])).toBe(true);
  });

  it('backs off after the goal was missed for `after` steps: restores the best iterate, resets the optimiser, slows down', async () => {
    const auto = new AutoLambda({ direction: 'atLeast', score: 0.9 }, { initial: 2 });
    const good = tf.fill([4], 0.3);
    auto.observe(good, tf.scalar(0.95), tf.scalar(0.3));
    const optimizer = adam({ learningRate: 0.1 });
    const restored: number[][] = [];
    const c = runController({
      game: 'preservation',
      goal: { direction: 'atLeast', score: 0.9 },
      earlyStop: false,
      backoff: { after: 3, maxBackoffs: 1, learningRateFactor: 0.5, lambdaFactor: 0.25 },
      auto,
      optimizer,
      assignMask: (v) => restored.push(Array.from(v.dataSync())),
    });
    const h = [rec(1, 0.95, 0.3), rec(2, 0.5, 0.1), rec(3, 0.5, 0.1)];
    expect(c.shouldStop(h)).toBe(false);
    expect(c.backoffs).toBe(0);
    h.push(rec(4, 0.5, 0.1));
    expect(c.shouldStop(h)).toBe(false);
    expect(c.backoffs).toBe(1);
    expect(restored).toEqual([[0.3, 0.3, 0.3, 0.3].map(Math.fround)]);
    expect(optimizer.learningRate).toBeCloseTo(0.05);
    expect(await auto.current()).toBeCloseTo(2 * 0.25, 5);
    // Missing again after the last allowed back-off stops the run.
    h.push(rec(5, 0.5, 0.1), rec(6, 0.5, 0.1), rec(7, 0.5, 0.1));
    expect(c.shouldStop(h)).toBe(true);
    auto.dispose();
    optimizer.dispose();
  });
});
