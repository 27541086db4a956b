import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe as suite, expect, it } from 'vitest';
import { adaptModel, modelKind, selectClass } from '../../src/model/adapter';
import { describeEachBackend } from '../backends';

const x = () => tf.randomUniform([1, 4, 4, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
const linear = (k: number, softmax: boolean) => {
  const w = tf.randomNormal([48, k], 0, 1, 'float32', 3);
  return (input: tf.Tensor4D) => tf.tidy(() => {
    const z = tf.matMul(tf.reshape(input, [1, 48]), w);
    return softmax ? tf.softmax(z) : z;
  });
};

describeEachBackend('adaptModel', () => {
  it('detects probabilities and logits and gives the same log-probabilities', async () => {
    const input = x();
    const probs = await adaptModel(linear(5, true), input);
    const logits = await adaptModel(linear(5, false), input);
    expect(probs.scoreKind).toBe('probabilities');
    expect(logits.scoreKind).toBe('logits');
    expect(probs.numClasses).toBe(5);
    const a = await probs.logProbs(input).data();
    const b = await logits.logProbs(input).data();
    for (let i = 0; i < 5; i++) expect(a[i]).toBeCloseTo(b[i]!, 4);
    const p = Array.from(await logits.probs(input).data());
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
  });

  it('reads a single sigmoid output as two classes [1 - p, p]', async () => {
    const input = x();
    const f = (t: tf.Tensor4D) => tf.sigmoid(tf.reshape(tf.mean(t), [1, 1]));
    const s = await adaptModel(f, input);
    expect(s.scoreKind).toBe('sigmoid');
    expect(s.numClasses).toBe(2);
    const p = await s.probs(input).data();
    const raw = (await f(input).data())[0]!;
    expect(p[1]).toBeCloseTo(raw, 6);
    expect(p[0]).toBeCloseTo(1 - raw, 6);
    const logit = await adaptModel((t: tf.Tensor4D) => tf.reshape(tf.mul(tf.mean(t), 5), [1, 1]), input, { scores: 'logits' });
    expect(logit.scoreKind).toBe('sigmoid-logit');
    const q = await logit.probs(input).data();
    expect(q[0]! + q[1]!).toBeCloseTo(1, 6);
  });

  it('rejects outputs that are not [1, classes] and forced kinds that do not fit', async () => {
    const input = x();
    await expect(adaptModel((t: tf.Tensor4D) => tf.reshape(t, [1, 4, 12]), input)).rejects.toThrow(/output must have shape \[1, classes\], got \[1,4,12\]/);
    await expect(adaptModel(linear(3, false), input, { scores: 'probabilities' })).rejects.toThrow(/not a distribution/);
    await expect(adaptModel((() => 3) as never, input)).rejects.toThrow(/must return a Tensor/);
    await expect(adaptModel({} as never, input)).rejects.toThrow(/Error in explain: model must be a tfjs GraphModel, a LayersModel or a function/);
    await expect(adaptModel(linear(3, false), input, { outputNode: 'a' })).rejects.toThrow(/outputNode applies only/);
  });

  it('adapts a LayersModel (not confused by its execute method) and checks the input shape', async () => {
    const model = tfl.sequential({
      layers: [tfl.layers.flatten({ inputShape: [4, 4, 3] }), tfl.layers.dense({ units: 3, activation: 'softmax' })],
    });
    expect(modelKind(model)).toBe('layers');
    const input = x();
    const s = await adaptModel(model, input);
    expect(s.kind).toBe('layers');
    expect(s.scoreKind).toBe('probabilities');
    await expect(adaptModel(model, tf.zeros([1, 5, 4, 3]) as tf.Tensor4D)).rejects.toThrow(/must match the model's input shape \[\?,4,4,3\], got \[1,5,4,3\]/);
    model.dispose();
  });

  it('selects a class with slice (differentiable on every backend)', () => {
    const row = tf.tensor2d([[0.1, 0.7, 0.2]]);
    expect(selectClass(row, 1).dataSync()[0]).toBeCloseTo(0.7);
    const g = tf.grad((r: tf.Tensor) => selectClass(r as tf.Tensor2D, 2))(row);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 1]);
  });
});

suite('modelKind', () => {
  it('tells graph models, layers models and functions apart', () => {
    const graphLike = { execute() {}, executeAsync() {}, outputNodes: [], inputNodes: [] };
    expect(modelKind(graphLike)).toBe('graph');
    expect(modelKind(() => 0)).toBe('function');
    expect(modelKind({ layers: [], apply() {}, execute() {} })).toBe('layers');
    expect(modelKind(42)).toBeUndefined();
  });
});
