import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { makeReference } from '../../src/util/reference';
import { describeEachBackend } from '../backends';

describeEachBackend('references', () => {
  it('a constant colour: one value for every channel, or one per channel; the wrong count is refused', async () => {
    const x = tf.randomUniform([1, 2, 3, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const grey = makeReference(x, 0.5)!;
    expect(grey.shape).toEqual([1, 2, 3, 3]);
    expect(Array.from(await grey.data())).toEqual(new Array(18).fill(0.5));
    const colour = makeReference(x, [0.485, 0.456, 0.406])!;
    const v = await colour.data();
    for (let i = 0; i < 6; i++) expect([v[3 * i], v[3 * i + 1], v[3 * i + 2]]).toEqual([0.485, 0.456, 0.406].map(Math.fround));
    tf.dispose([grey, colour]);
    expect(() => makeReference(x, [0.1, 0.2])).toThrow(/^Error in makeReference: options\.reference must have one value or one per channel \(3\), got 2 values/);
    expect(() => makeReference(x, [0.1, NaN, 0.2])).toThrow(/options\.reference must hold finite numbers \(a colour, one per channel\), got NaN at index 1/);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('noise: the same seed (0 included) gives the same noise, another seed other noise', async () => {
    const x = tf.randomUniform([1, 4, 4, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const read = async (seed: number | undefined) => {
      const r = makeReference(x, 'noise', { seed })!;
      const v = Array.from(await r.data());
      r.dispose();
      return v;
    };
    expect(await read(0)).toEqual(await read(0));
    expect(await read(0)).not.toEqual(await read(1));
    expect(await read(undefined)).not.toEqual(await read(undefined));
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
