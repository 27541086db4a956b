import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { AUTO_LAMBDA_DEFAULTS, AutoLambda, scoreGoal } from '../../src/core/lambda';
import { describeEachBackend } from '../backends';

describeEachBackend('automatic lambda', () => {
  it('sets the score goal per game', () => {
    expect(scoreGoal('preservation', 0.9, 0.2)).toEqual({ direction: 'atLeast', score: 0.9 - AUTO_LAMBDA_DEFAULTS.tolerance });
    const del = scoreGoal('deletion', 0.9, 0.1, { deletionFraction: 0.25 });
    expect(del.direction).toBe('atMost');
    expect(del.score).toBeCloseTo(0.1 + 0.25 * 0.8);
  });

  it('raises lambda while the goal holds, lowers it faster when it fails, and keeps the sparsest iterate that met it', async () => {
    const auto = new AutoLambda({ direction: 'atLeast', score: 0.5 }, { initial: 1, increase: 0.1, decrease: 0.3 });
    const iterate = (v: number) => tf.fill([2, 2], v);
    auto.observe(iterate(1), tf.scalar(0.9), tf.scalar(1));
    expect(await auto.current()).toBeCloseTo(Math.exp(0.1), 5);
    auto.observe(iterate(0.3), tf.scalar(0.7), tf.scalar(0.3));
    expect(await auto.current()).toBeCloseTo(Math.exp(0.2), 5);
    auto.observe(iterate(0.1), tf.scalar(0.2), tf.scalar(0.1)); // sparser but misses the goal
    expect(await auto.current()).toBeCloseTo(Math.exp(-0.1), 5);
    auto.observe(iterate(0.5), tf.scalar(0.8), tf.scalar(0.5)); // meets it but is denser
    const best = await auto.bestIterate();
    expect(best).not.toBeNull();
    expect(Array.from(await best!.mask.data())).toEqual([0.3, 0.3, 0.3, 0.3].map(Math.fround));
    expect(best!.lambda).toBeCloseTo(Math.exp(0.1), 5);
    best!.mask.dispose();
    auto.dispose();
  });

  it('takes the default for an option given as undefined', async () => {
    const auto = new AutoLambda({ direction: 'atLeast', score: 0.5 }, { increase: undefined, initial: undefined });
    const m = tf.ones([2]);
    const [met, sp] = [tf.scalar(0.9), tf.scalar(0.5)];
    auto.observe(m, met, sp);
    tf.dispose([m, met, sp]);
    expect(Math.log(await auto.current())).toBeCloseTo(Math.log(AUTO_LAMBDA_DEFAULTS.initial) + AUTO_LAMBDA_DEFAULTS.increase, 5);
    auto.dispose();
    expect(scoreGoal('preservation', 0.9, 0.2, { tolerance: undefined }).score).toBeCloseTo(0.9 - AUTO_LAMBDA_DEFAULTS.tolerance, 6);
  });

  it('returns null when no iterate met the goal', async () => {
    const before = tf.memory().numTensors;
    const auto = new AutoLambda({ direction: 'atMost', score: 0.1 });
    const m = tf.ones([3]);
    const s = tf.scalar(0.5);
    const sp = tf.scalar(0);
    auto.observe(m, s, sp);
    expect(await auto.bestIterate()).toBeNull();
    auto.dispose();
    tf.dispose([m, s, sp]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
