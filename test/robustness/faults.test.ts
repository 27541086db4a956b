/**
 * Models that cannot be explained and numerical faults: each gives a clear
 * `FgvisModelError` / `FgvisArgumentError` (or a warning in the result where
 * the run can go on), and leaves no tensor, backend buffer, tape or registry
 * change behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { explain, FgvisArgumentError, FgvisModelError, type Explanation } from '../../src';
import { gradientSaliency, meaningfulPerturbation } from '../../src/baselines';
import { describeEachBackend } from '../backends';
import {
  expectClearError,
  expectRestored,
  rejection,
  reportCounts,
  smallNet,
  snapshot,
  uniform,
  values,
} from './helpers';
import { controlFlowModel, noGradientModel, SIZE, twoOutputModel, wrongOutputModel } from './models';

reportCounts('faults');

/** A valid result: shapes, mask in [0, 1], finite scores and history. */
async function expectValid(r: Explanation, shape: number[]): Promise<void> {
  expect(r.mask.shape).toEqual(shape);
  expect(r.explanation.shape).toEqual(shape);
  const m = await values(r.mask);
  expect(m.every((v) => v >= 0 && v <= 1)).toBe(true);
  expect(await values(r.explanation)).toSatisfy((e: number[]) => e.every(Number.isFinite));
  expect([r.scores.image, r.scores.explanation, r.scores.reference, r.maskMean, r.lambda].every(Number.isFinite)).toBe(true);
  expect(r.history.every((h) => Number.isFinite(h.loss) && Number.isFinite(h.score))).toBe(true);
  // Only the documented fields (no internal bookkeeping leaks into the history).
  for (const h of r.history) expect(Object.keys(h).sort()).toEqual(['l1', 'lambda', 'loss', 'score', 'step']);
}

describeEachBackend('models that cannot be explained', () => {
  let net: ReturnType<typeof smallNet>;
  let x: tf.Tensor3D;
  let x8: tf.Tensor3D;
  beforeAll(() => {
    net = smallNet();
    x = uniform([6, 6, 3], 4, 0, 1) as tf.Tensor3D;
    x8 = uniform([SIZE, SIZE, 3], 5, 0, 1) as tf.Tensor3D;
  });
  afterAll(() => {
    net.dispose();
    tf.dispose([x, x8]);
  });

  /** `call` must reject with a clear error of `type`; nothing is left behind. */
  async function fails(call: () => Promise<unknown>, type: typeof FgvisModelError | typeof FgvisArgumentError, pattern: RegExp): Promise<Error> {
    const before = snapshot();
    const e = await rejection(call);
    expect(e, e.message).toBeInstanceOf(type);
    expect(e.message).toMatch(/^Error in \w+: /);
    expect(e.message).toMatch(pattern);
    expectRestored(before, e.message);
    return e;
  }

  it('outputs that are not [1, classes]', async () => {
    const outputs: Array<[string, (x: tf.Tensor4D) => unknown, RegExp]> = [
      ['rank 1', (v) => tf.softmax(tf.reshape(tf.mean(v, [1, 2]), [3])), /must have shape \[1, classes\], got \[3\]/],
      ['batch 2', (v) => tf.softmax(tf.concat([tf.mean(v, [1, 2]), tf.mean(v, [1, 2])], 0)), /got \[2,3\]/],
      ['rank 3', (v) => tf.reshape(tf.mean(v, [1], true), [1, 6, 3]), /got \[1,6,3\]/],
      ['no classes', (v) => tf.slice(tf.reshape(v, [1, -1]), [0, 0], [1, 0]), /got \[1,0\]/],
      ['int32', (v) => tf.cast(tf.mul(tf.mean(v, [1, 2]), 10), 'int32'), /must be float32, got int32/],
      ['a number', () => 0.5, /must return a Tensor of shape \[1, classes\], got 0.5/],
      ['an array', (v) => [tf.mean(v, [1, 2]), tf.mean(v, [1, 2])], /got an array of length 2/],
      ['NaN on the image', (v) => tf.mul(tf.mean(v, [1, 2]), NaN), /non-finite score on the input/],
    ];
    for (const [, model, pattern] of outputs) {
      await fails(() => explain(((v: tf.Tensor4D) => tf.tidy(() => model(v) as tf.Tensor)), x, 0, { steps: 2 }), FgvisModelError, pattern);
    }
    const g = await wrongOutputModel();
    await fails(() => explain(g, x8, 0, { steps: 2 }), FgvisModelError, /output must have shape \[1, classes\], got \[1,8,3\]/);
    g.dispose();
  });

  it('several outputs without outputNode; an unknown outputNode', async () => {
    const g = await twoOutputModel();
    await fails(() => explain(g, x8, 0), FgvisArgumentError, /options.outputNode is required: the GraphModel has 2 outputs \(probs, other\)/);
    await fails(() => explain(g, x8, 0, { outputNode: 'nope' }), FgvisModelError, /the model threw .*nope/);
    const before = snapshot();
    const r = await explain(g, x8, 0, { outputNode: 'probs', steps: 3 });
    await expectValid(r, [SIZE, SIZE, 3]);
    expect(r.gatedOutputs).toBe(1);
    r.dispose();
    expectRestored(before);
    g.dispose();
    const input = tfl.input({ shape: [6, 6, 3] });
    const flat = tfl.layers.flatten().apply(input) as tfl.SymbolicTensor;
    const a = tfl.layers.dense({ units: 3, activation: 'softmax', name: 'a' }).apply(flat) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 2, activation: 'softmax', name: 'b' }).apply(flat) as tfl.SymbolicTensor;
    const layers = tfl.model({ inputs: input, outputs: [a, b] });
    await fails(() => explain(layers, x, 0), FgvisArgumentError, /outputNode is required: the LayersModel has 2 outputs \(a, b\)/);
    await fails(() => explain(layers, x, 0, { outputNode: 'c' }), FgvisArgumentError, /must be one of the LayersModel's outputs \(a, b\), got "c"/);
    layers.dispose();
  });

  it('a GraphModel that needs executeAsync (control flow)', async () => {
    const g = await controlFlowModel();
    await fails(() => explain(g, x8, 0), FgvisModelError, /dynamic control flow and needs executeAsync\(\), which cannot be differentiated/);
    await fails(() => gradientSaliency(g, x8, 0), FgvisModelError, /executeAsync/);
    g.dispose();
  });

  it('an op without a registered gradient: the error names the op', async () => {
    const g = await noGradientModel();
    const e = await fails(() => explain(g, x8, 0, { steps: 3 }), FgvisModelError, /uses the op 'Cumprod', which has no registered gradient/);
    expect((e as Error & { cause?: Error }).cause?.message).toMatch(/gradient function not found for Cumprod/);
    g.dispose();
    // The same from function models, through the defense's hooks and without them, and in a baseline.
    const w = uniform([24, 3], 9) as tf.Tensor2D;
    const depthToSpace = (v: tf.Tensor4D) => tf.tidy(() => tf.softmax(tf.matMul(tf.slice(tf.reshape(tf.depthToSpace(tf.relu(tf.tile(v, [1, 1, 1, 4])) as tf.Tensor4D, 2), [1, -1]), [0, 0], [1, 24]), w)));
    const strided = (v: tf.Tensor4D) => tf.tidy(() => tf.softmax(tf.matMul(tf.reshape(tf.stridedSlice(tf.relu(v), [0, 0, 0, 0], [1, 4, 2, 3], [1, 1, 1, 1]), [1, 24]), w)));
    for (const [model, op] of [[depthToSpace, 'DepthToSpace'], [strided, 'StridedSlice']] as const) {
      for (const defense of [true, false]) {
        await fails(() => explain(model, x, 0, { steps: 2, defense }), FgvisModelError, new RegExp(`the op '${op}'`));
      }
      await fails(() => gradientSaliency(model, x, 0), FgvisModelError, new RegExp(`Error in gradientSaliency: the model uses the op '${op}'`));
    }
    w.dispose();
  });

  it('a model whose output does not depend on its input', async () => {
    const constant = () => tf.softmax(tf.tensor2d([[1, 2, 3]]));
    await fails(() => explain(constant, x, 0, { steps: 2 }), FgvisModelError, /does not depend on its input/);
  });

  it('a model that throws: on the first call, mid-run under the hooks, with a non-Error', async () => {
    const boom = new Error('boom');
    const e = await fails(() => explain(() => { throw boom; }, x, 0), FgvisModelError, /the model threw when called on a \[1,6,6,3\] input: boom/);
    expect((e as Error & { cause?: unknown }).cause).toBe(boom);
    for (const failAt of [4, 6]) {
      let calls = 0;
      const flaky = (v: tf.Tensor4D) => {
        if (++calls === failAt) throw new RangeError('flaky');
        return net.model(v);
      };
      await fails(() => explain(flaky, x, 0, { steps: 10 }), FgvisModelError, /the model threw when called on a \[1,6,6,3\] input: RangeError: flaky/);
    }
    let calls = 0;
    await fails(
      () => explain((v) => { if (++calls === 5) throw 'a string'; return net.model(v); }, x, 0, { steps: 10 }),
      FgvisModelError,
      /input: a string/,
    );
    // A model that leaks tensors of its own into the tape before throwing: fgvis cleans up the tape.
    calls = 0;
    const leaky = (v: tf.Tensor4D) => {
      const h = tf.relu(tf.conv2d(v, net.weights[0] as tf.Tensor4D, 1, 'same'));
      if (++calls === 5) throw new Error('after work');
      h.dispose();
      return net.model(v);
    };
    await fails(() => explain(leaky, x, 0, { steps: 10 }), FgvisModelError, /after work/);
    // Input of the wrong size for a function model: the model's own error, named as such.
    const small = uniform([4, 4, 3], 1) as tf.Tensor3D;
    const fixed = (v: tf.Tensor4D) => tf.tidy(() => tf.softmax(tf.slice(tf.reshape(v, [1, 108]), [0, 0], [1, 3])));
    await fails(() => explain(fixed, small, 0), FgvisModelError, /the model threw when called on a \[1,4,4,3\] input: .*Size\(48\)/);
    small.dispose();
  });

  it('a disposed model', async () => {
    const g = await twoOutputModel();
    g.dispose();
    await fails(() => explain(g, x8, 0, { outputNode: 'probs' }), FgvisModelError, /the model threw when called on a \[1,8,8,3\] input/);
    const m = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [6, 6, 3] }), tfl.layers.dense({ units: 3, activation: 'softmax' })] });
    m.dispose();
    await fails(() => explain(m, x, 0), FgvisModelError, /the model threw when called on a \[1,6,6,3\] input/);
  });

  it('a LayersModel with a declared input shape and a mismatching image', async () => {
    const m = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: [8, 8, 3] }), tfl.layers.dense({ units: 3, activation: 'softmax' })] });
    await fails(() => explain(m, x, 0), FgvisArgumentError, /input must match the model's input shape \[\?,8,8,3\], got \[1,6,6,3\]/);
    m.dispose();
  });

  it('no gradients registered at all: says how to fix it', async () => {
    const relu = tf.getGradient('Relu')!;
    tf.unregisterGradient('Relu');
    try {
      await fails(() => explain(net.model, x, 0), FgvisModelError, /no gradients are registered in tfjs.*import '@tensorflow\/tfjs'/);
    } finally {
      tf.registerGradient(relu);
    }
  });

  it('no activation the defense can see: the run goes on, and the result says so', async () => {
    const w = uniform([108, 3], 3) as tf.Tensor2D;
    const hidden: Array<(v: tf.Tensor4D) => tf.Tensor> = [
      // maximum(x, 0) instead of relu
      (v) => tf.tidy(() => tf.softmax(tf.matMul(tf.maximum(tf.reshape(v, [1, 108]), 0), w))),
      // a ReLU inside a custom gradient
      (v) =>
        tf.tidy(() => {
          const f = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
            save([t]);
            return { value: tf.relu(t), gradFunc: (dy: tf.Tensor, [s]: tf.Tensor[]) => tf.mul(dy, tf.step(s!)) };
          }) as never);
          return tf.softmax(tf.matMul(f(tf.reshape(v, [1, 108])) as tf.Tensor2D, w));
        }),
    ];
    for (const model of hidden) {
      const before = snapshot();
      const r = await explain(model, x, 0, { steps: 3 });
      expect(r.gatedOutputs).toBe(0);
      expect(r.warnings.join(' ')).toMatch(/the defense found no gated kernel to filter .* the explanation is undefended/);
      await expectValid(r, [6, 6, 3]);
      r.dispose();
      expectRestored(before);
    }
    w.dispose();
  });
});

describeEachBackend('numerical faults', () => {
  let net: ReturnType<typeof smallNet>;
  let x: tf.Tensor3D;
  beforeAll(() => {
    net = smallNet();
    x = uniform([6, 6, 3], 4, 0, 1) as tf.Tensor3D;
  });
  afterAll(() => {
    net.dispose();
    x.dispose();
  });

  /** The model's output turns `bad` (NaN / Infinity) from call `from` on; explain makes 3 calls before step 1. */
  function turning(bad: number, from: number, logits = false) {
    const w = net.weights[2] as tf.Tensor2D;
    let calls = 0;
    const model = (v: tf.Tensor4D) =>
      tf.tidy(() => {
        calls += 1;
        const h = tf.relu(tf.conv2d(v, net.weights[0] as tf.Tensor4D, 1, 'same'));
        const z = tf.matMul(tf.reshape(tf.mean(h, [1, 2]), [1, 6]), w);
        const y = logits ? z : tf.softmax(z);
        return calls >= from ? tf.mul(y, bad) : y;
      });
    return { model, calls: () => calls };
  }

  it('the loss turns NaN or Infinity mid-run: the error names the first bad step, at the next read, and nothing leaks', async () => {
    for (const [bad, logits] of [[NaN, false], [Infinity, true], [-Infinity, true]] as const) {
      for (const [badStep, readEvery] of [[5, 10], [2, 1], [13, 4]] as const) {
        const { model, calls } = turning(bad, 3 + badStep, logits);
        const before = snapshot();
        const seen: number[] = [];
        const e = await rejection(explain(model, x, 0, { steps: 300, readEvery, earlyStop: false, onStep: (s) => void seen.push(s.step) }));
        expect(e).toBeInstanceOf(FgvisModelError);
        expect(e.message).toMatch(new RegExp(`Error in explain: the (loss became (NaN|-?Infinity)|gradient of the loss became non-finite \\(NaN or Infinity\\)) at step ${badStep}:`));
        // Raised at the read that brought the bad step: no more than readEvery steps later.
        const lastStepRun = calls() - 3;
        expect(lastStepRun).toBeLessThanOrEqual(Math.ceil(badStep / readEvery) * readEvery);
        // onStep never saw the bad record.
        expect(seen).toEqual(Array.from({ length: badStep - 1 }, (_, i) => i + 1));
        expectRestored(before);
      }
    }
  });

  it('without onStep (default readEvery 10): still raised at step ceil(k/10)*10 at the latest', async () => {
    const { model, calls } = turning(NaN, 3 + 7);
    const before = snapshot();
    const e = await rejection(explain(model, x, 0, { steps: 300 }));
    expect(e.message).toMatch(/at step 7:/);
    expect(calls() - 3).toBeLessThanOrEqual(10);
    expectRestored(before);
  });

  it('meaningfulPerturbation: a loss that turns NaN stops the run at the next read, naming the step', async () => {
    const { model, calls } = turning(NaN, 8);
    const before = snapshot();
    const e = await rejection(meaningfulPerturbation(model, x, 0, { steps: 300, upsample: 2 }));
    expect(e).toBeInstanceOf(FgvisModelError);
    expect(e.message).toMatch(/^Error in meaningfulPerturbation: the loss became NaN at step \d+/);
    expect(calls()).toBeLessThan(30);
    expectRestored(before);
  });

  it('a gradient that turns non-finite while the loss stays finite', async () => {
    // sqrt(relu(x - 0.5)): the value is finite everywhere; the gradient is Inf * 0 = NaN where x < 0.5.
    const w = uniform([108, 3], 6) as tf.Tensor2D;
    const model = (v: tf.Tensor4D) => tf.tidy(() => tf.softmax(tf.matMul(tf.sqrt(tf.relu(tf.sub(tf.reshape(v, [1, 108]), 0.5))), w)));
    const before = snapshot();
    const e = await rejection(explain(model, x, 0, { steps: 50, readEvery: 5 }));
    expect(e).toBeInstanceOf(FgvisModelError);
    expect(e.message).toMatch(/the gradient of the loss became non-finite \(NaN or Infinity\) at step 1:/);
    expectRestored(before);
    w.dispose();
  });

  it('a diverging learning rate: either a clear error or a valid (projected) result', async () => {
    const cases = [
      { optimizer: 'sgd', learningRate: 1e30, lambda: 1 },
      { optimizer: 'sgd', learningRate: 3e38, parameterization: 'sigmoid' },
      { optimizer: 'adam', learningRate: 3e38, parameterization: 'sigmoid', game: 'deletion' },
      { optimizer: 'adam', learningRate: 1e20 },
    ] as const;
    for (const o of cases) {
      const before = snapshot();
      try {
        const r = await explain(net.model, x, 'top', { steps: 12, ...o });
        await expectValid(r, [6, 6, 3]);
        r.dispose();
      } catch (e) {
        expectClearError(e, 'explain', /loss|gradient/, /step \d+/);
      }
      expectRestored(before);
    }
  });

  it('a reference or an input with non-finite values is refused up front', async () => {
    const bad = tf.tensor3d(Array.from({ length: 108 }, (_, i) => (i === 50 ? Infinity : 0)), [6, 6, 3]);
    const before = snapshot();
    const e = await rejection(explain(net.model, x, 0, { reference: bad }));
    expect(e.message).toBe('Error in explain: options.reference must be finite, got Infinity at flat index 50');
    expectRestored(before);
    bad.dispose();
  });
});
