/**
 * Property-based robustness suite (fast-check): random option sets (valid and
 * invalid), input shapes, targets, and small random models (chains and
 * branches of convolutions and dense layers with random ReLU-family
 * activations, plain or fused). Invariants, for every generated case:
 * - either a clear fgvis error (an FgvisArgumentError / FgvisModelError whose
 *   message starts with "Error in explain: "), required whenever something
 *   invalid was generated, or a valid result: mask and explanation with the
 *   input's shape, mask and saliency in [0, 1], finite scores in [0, 1], one
 *   finite history record per step, exactly one filtered activation per
 *   activation of the model that the defense hooks (a warning when none);
 * - no leaked tensor or backend buffer, the engine's tape and scopes closed;
 * - the gradient and kernel registries exactly as they were.
 *
 * Bounded: a fixed number of runs per backend (a file of < 60 s on cpu), a
 * fixed seed (override with FGVIS_FUZZ_SEED, runs with FGVIS_FUZZ_RUNS); the
 * seed is printed, and fast-check prints the seed and path of a failing case.
 */
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { explain, type ExplainOptions } from '../../src';
import { resolveExplainOptions } from '../../src/core/options';
import { DEFAULT_FILTERED_ACTIVATIONS, LAYER_OUTPUT_KERNELS } from '../../src/filter';
import { describeEachBackend } from '../backends';
import { expectRestored, isFgvisError, reportCounts, snapshot, uniform, values } from './helpers';

reportCounts('fuzz');

const SEED = Number(process.env.FGVIS_FUZZ_SEED ?? 20240611);
const RUNS = { cpu: Number(process.env.FGVIS_FUZZ_RUNS ?? 400), wasm: Math.ceil(Number(process.env.FGVIS_FUZZ_RUNS ?? 400) / 3) };

// ---------------------------------------------------------------------------
// Random models

const ACTIVATIONS = ['relu', 'relu6', 'leakyRelu', 'elu', 'prelu', 'selu', 'clipByValue'] as const;
type Act = (typeof ACTIVATIONS)[number];
/** The kernel each activation runs under a tape (fused ones are split into these). */
const KERNEL: Record<Act, string> = { relu: 'Relu', relu6: 'Relu6', leakyRelu: 'LeakyRelu', elu: 'Elu', prelu: 'Prelu', selu: 'Selu', clipByValue: 'ClipByValue' };
/** Activations tf.fused.conv2d / matMul take. */
const FUSABLE: Partial<Record<Act, 'relu' | 'relu6' | 'elu' | 'leakyrelu' | 'prelu'>> = { relu: 'relu', relu6: 'relu6', elu: 'elu', leakyRelu: 'leakyrelu', prelu: 'prelu' };

interface Block {
  kind: 'conv' | 'depthwise';
  act: Act;
  fused: boolean;
  /** A residual branch: h + act2(conv(h)). */
  branch: Act | null;
}
interface ModelSpec {
  blocks: Block[];
  width: number;
  head: { act: Act | null; fused: boolean };
  classes: number;
  output: 'softmax' | 'logits' | 'sigmoid';
  seed: number;
}

const actArb = fc.constantFrom(...ACTIVATIONS);
const blockArb: fc.Arbitrary<Block> = fc.record({
  kind: fc.constantFrom('conv' as const, 'depthwise' as const),
  act: actArb,
  fused: fc.boolean(),
  branch: fc.option(actArb, { freq: 2 }),
});
const modelArb: fc.Arbitrary<ModelSpec> = fc.record({
  blocks: fc.array(blockArb, { minLength: 0, maxLength: 3 }),
  width: fc.integer({ min: 1, max: 4 }),
  head: fc.record({ act: fc.option(actArb, { freq: 3 }), fused: fc.boolean() }),
  classes: fc.integer({ min: 2, max: 5 }),
  output: fc.constantFrom('softmax' as const, 'logits' as const, 'sigmoid' as const),
  seed: fc.integer({ min: 1, max: 1000 }),
});

/** Apply an activation (plain op); returns the result. */
function activate(act: Act, h: tf.Tensor, alpha: tf.Tensor): tf.Tensor {
  switch (act) {
    case 'relu':
      return tf.relu(h);
    case 'relu6':
      return tf.relu6(h);
    case 'leakyRelu':
      return tf.leakyRelu(h, 0.2);
    case 'elu':
      return tf.elu(h);
    case 'prelu':
      return tf.prelu(h, alpha);
    case 'selu':
      return tf.selu(h);
    case 'clipByValue':
      return tf.clipByValue(h, -0.5, 0.8);
  }
}

/**
 * Build a function model `[1,H,W,C] -> [1, classes]` (or `[1,1]` sigmoid) with
 * seeded weights; returns it, its weights, and how many activation kernels a
 * backward pass visits.
 */
function buildModel(spec: ModelSpec, channels: number) {
  const weights: tf.Tensor[] = [];
  let seed = spec.seed;
  const w = (shape: number[], scale: number) => {
    const t = uniform(shape, seed++, -scale, scale);
    weights.push(t);
    return t;
  };
  const alpha = w([1], 0.3);
  const f = spec.width;
  let cprev = channels;
  const plan = spec.blocks.map((b) => {
    const cin = cprev;
    cprev = b.kind === 'conv' ? f : cin;
    const filter = b.kind === 'conv' ? w([3, 3, cin, f], 0.8) : w([3, 3, cin, 1], 0.8);
    const bias = w([b.kind === 'conv' ? f : cin], 0.1);
    const branch = b.branch ? { filter: w([1, 1, b.kind === 'conv' ? f : cin, b.kind === 'conv' ? f : cin], 0.6) } : null;
    return { b, filter, bias, branch, cout: b.kind === 'conv' ? f : cin };
  });
  const last = plan.length === 0 ? channels : plan[plan.length - 1]!.cout;
  const outputs = spec.output === 'sigmoid' ? 1 : spec.classes;
  const dense = w([last, outputs], 1.5);
  const denseBias = w([outputs], 0.2);
  let activations = 0;
  for (const p of plan) activations += 1 + (p.branch ? 1 : 0);
  if (spec.head.act) activations += 1;

  // Extra arguments of a fused op, only for the activation that reads them (tfjs-backend-wasm 4.22
  // computes garbage when preluActivationWeights comes with another activation).
  const extra = (a: string) => (a === 'prelu' ? { preluActivationWeights: alpha } : a === 'leakyrelu' ? { leakyreluAlpha: 0.2 } : {});
  const model = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      let h: tf.Tensor4D = x;
      for (const p of plan) {
        const fusedAct = FUSABLE[p.b.act];
        if (p.b.fused && fusedAct && p.b.kind === 'conv') {
          h = tf.fused.conv2d({ x: h, filter: p.filter as tf.Tensor4D, strides: 1, pad: 'same', bias: p.bias, activation: fusedAct, ...extra(fusedAct) });
        } else if (p.b.fused && fusedAct) {
          h = tf.fused.depthwiseConv2d({ x: h, filter: p.filter as tf.Tensor4D, strides: 1, pad: 'same', bias: p.bias, activation: fusedAct, ...extra(fusedAct) });
        } else {
          const z = p.b.kind === 'conv' ? tf.conv2d(h, p.filter as tf.Tensor4D, 1, 'same') : tf.depthwiseConv2d(h, p.filter as tf.Tensor4D, 1, 'same');
          h = activate(p.b.act, tf.add(z, p.bias), alpha) as tf.Tensor4D;
        }
        if (p.branch && p.b.branch) h = tf.add(h, activate(p.b.branch, tf.conv2d(h, p.branch.filter as tf.Tensor4D, 1, 'same'), alpha)) as tf.Tensor4D;
      }
      const pooled = tf.reshape(tf.mean(h, [1, 2]), [1, last]) as tf.Tensor2D;
      let z: tf.Tensor2D;
      const headAct = spec.head.act;
      if (headAct && spec.head.fused && FUSABLE[headAct]) {
        z = tf.fused.matMul({ a: pooled, b: dense as tf.Tensor2D, bias: denseBias, activation: FUSABLE[headAct], ...extra(FUSABLE[headAct]!) }) as tf.Tensor2D;
      } else {
        z = tf.add(tf.matMul(pooled, dense as tf.Tensor2D), denseBias) as tf.Tensor2D;
        if (headAct) z = activate(headAct, z, alpha) as tf.Tensor2D;
      }
      return spec.output === 'softmax' ? tf.softmax(z) : spec.output === 'sigmoid' ? tf.sigmoid(z) : z;
    });
  const kernels: string[] = [];
  for (const p of plan) {
    kernels.push(KERNEL[p.b.act]);
    if (p.b.branch) kernels.push(KERNEL[p.b.branch]);
  }
  if (spec.head.act) kernels.push(KERNEL[spec.head.act]);
  return { model, weights, activations, kernels, classes: spec.output === 'sigmoid' ? 2 : spec.classes };
}

// ---------------------------------------------------------------------------
// Random options: valid values, and (flagged) invalid ones

interface Generated {
  options: Record<string, unknown>;
  /** Something invalid was put in (an error is then required). */
  invalid: string | null;
}

const validOption = fc.oneof(
  fc.record({ game: fc.constantFrom('preservation', 'deletion') }),
  fc.record({ lambda: fc.oneof(fc.constant('auto'), fc.double({ min: 0, max: 5, noNaN: true })) }),
  fc.record({ learningRate: fc.double({ min: 1e-3, max: 2, noNaN: true }) }),
  fc.record({ optimizer: fc.constantFrom('adam', 'sgd') }),
  fc.record({ defense: fc.boolean() }),
  fc.record({ reference: fc.constantFrom('zero', 'mean', 'blur', 'noise') }),
  fc.record({ blurSigma: fc.double({ min: 0.5, max: 5, noNaN: true }) }),
  fc.record({ classTerm: fc.constantFrom('log-score', 'score', 'cross-entropy', 'log-complement') }),
  fc.record({ parameterization: fc.constantFrom('clip', 'sigmoid') }),
  fc.record({ seed: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ readEvery: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ earlyStop: fc.oneof(fc.constant(false), fc.record({ patience: fc.integer({ min: 1, max: 3 }), minSteps: fc.integer({ min: 1, max: 3 }) })) }),
  fc.record({ backoff: fc.oneof(fc.constant(false), fc.record({ after: fc.integer({ min: 1, max: 3 }) })) }),
  fc.record({ activations: fc.subarray([...DEFAULT_FILTERED_ACTIVATIONS]) }),
  fc.record({ autoLambda: fc.record({ tolerance: fc.double({ min: 0, max: 0.5, noNaN: true }) }, { requiredKeys: [] }) }),
);

const invalidOption: fc.Arbitrary<[string, Record<string, unknown>]> = fc.oneof(
  fc.constantFrom<[string, Record<string, unknown>]>(
    ['steps', { steps: 0 }],
    ['steps', { steps: -3 }],
    ['steps', { steps: 2.5 }],
    ['learningRate', { learningRate: 0 }],
    ['learningRate', { learningRate: NaN }],
    ['lambda', { lambda: NaN }],
    ['lambda', { lambda: -1 }],
    ['game', { game: 'keep' }],
    ['reference', { reference: 'zeros' }],
    ['blurSigma', { blurSigma: -1 }],
    ['readEvery', { readEvery: 0 }],
    ['activations', { activations: ['relu'] }],
    ['parameterization', { parameterization: 'softmax' }],
    ['seed', { seed: Infinity }],
    ['earlyStop', { earlyStop: { patience: 0 } }],
    ['autoLambda', { autoLambda: { min: 2, max: 1 } }],
  ),
  // A typo of a known name: a known name with one character changed, dropped or doubled.
  fc.tuple(fc.constantFrom('steps', 'lambda', 'learningRate', 'reference', 'defense', 'onStep', 'seed', 'game'), fc.nat(), fc.constantFrom('drop', 'double', 'upper')).map(
    ([name, at, how]): [string, Record<string, unknown>] => {
      const i = at % name.length;
      const typo =
        how === 'drop' ? name.slice(0, i) + name.slice(i + 1) : how === 'double' ? name.slice(0, i) + name[i] + name.slice(i) : name.slice(0, i) + name[i]!.toUpperCase() + name.slice(i + 1);
      return [typo === name ? `${name}_` : typo, { [typo === name ? `${name}_` : typo]: 1 }];
    },
  ),
);

const optionsArb: fc.Arbitrary<Generated> = fc
  .tuple(
    fc.array(validOption, { maxLength: 5 }),
    // About one case in four carries an invalid option.
    fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: invalidOption }),
    fc.integer({ min: 1, max: 10 }),
  )
  .map(([valid, bad, steps]) => ({
    options: Object.assign({ steps }, ...valid, ...(bad ? [bad[1]] : [])),
    invalid: bad ? bad[0] : null,
  }));

const caseArb = fc.record({
  model: modelArb,
  height: fc.integer({ min: 2, max: 7 }),
  width: fc.integer({ min: 2, max: 7 }),
  channels: fc.integer({ min: 1, max: 4 }),
  rank4: fc.boolean(),
  target: fc.oneof(
    { weight: 4, arbitrary: fc.constant<'top' | number>('top') },
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 4 }) },
    { weight: 1, arbitrary: fc.constantFrom(-1, 0.5, 7) },
  ),
  generated: optionsArb,
  imageSeed: fc.integer({ min: 1, max: 1000 }),
  /** An interruption at a step: an abort (from onStep or from inside the model), or an onStep that throws or rejects. */
  interrupt: fc.oneof(
    { weight: 3, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('abort' as const, 'abort-in-model' as const, 'throw' as const, 'reject' as const), at: fc.integer({ min: 1, max: 6 }) }) },
  ),
});

// ---------------------------------------------------------------------------

describeEachBackend('fuzz', (backend) => {
  it(`explain on random models, shapes and options (${RUNS[backend]} runs, seed ${SEED})`, async () => {
    console.log(`[fuzz] ${backend}: seed ${SEED}, ${RUNS[backend]} runs (set FGVIS_FUZZ_SEED / FGVIS_FUZZ_RUNS to change)`);
    let results = 0;
    let errors = 0;
    let interrupted = 0;
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const shape = c.rank4 ? [1, c.height, c.width, c.channels] : [c.height, c.width, c.channels];
        const input = uniform(shape, c.imageSeed, 0, 1);
        const built = buildModel(c.model, c.channels);
        const options = { ...c.generated.options } as ExplainOptions;
        const reason = new Error('fuzz interruption');
        let model = built.model;
        if (c.interrupt) {
          const { kind, at } = c.interrupt;
          const controller = new AbortController();
          options.signal = controller.signal;
          if (kind === 'abort-in-model') {
            let calls = 0;
            // explain calls the model 3 times before step 1 (4 with the sigmoid mask's bounds pass).
            model = (v) => {
              if (++calls === 3 + at) controller.abort(reason);
              return built.model(v);
            };
          } else {
            options.onStep = (st) => {
              if (st.step !== at) return undefined;
              if (kind === 'abort') return void controller.abort(reason);
              if (kind === 'throw') throw reason;
              return Promise.reject(reason);
            };
          }
        }
        const targetValid = c.target === 'top' || (Number.isInteger(c.target) && (c.target as number) >= 0 && (c.target as number) < built.classes);
        const before = snapshot();
        try {
          let r;
          try {
            r = await explain(model, input, c.target, options);
          } catch (e) {
            errors++;
            if (e === reason) {
              interrupted++;
              expect(c.generated.invalid).toBeNull();
              return;
            }
            expect(isFgvisError(e), `not an fgvis error: ${(e as Error)?.stack}`).toBe(true);
            expect((e as Error).message).toMatch(/^Error in explain: /);
            if (c.generated.invalid === null && targetValid) throw new Error(`a valid case failed: ${(e as Error).message}`);
            if (c.generated.invalid !== null) expect((e as Error).message).toContain(c.generated.invalid);
            return;
          }
          results++;
          expect(c.generated.invalid, 'an invalid option was accepted').toBeNull();
          expect(targetValid, 'an invalid target was accepted').toBe(true);
          try {
            expect(r.mask.shape).toEqual(shape);
            expect(r.explanation.shape).toEqual(shape);
            expect(r.saliency.shape).toEqual([c.height, c.width]);
            const m = await values(r.mask);
            expect(m.every((v) => v >= 0 && v <= 1)).toBe(true);
            const s = await values(r.saliency);
            expect(s.every((v) => v >= 0 && v <= 1)).toBe(true);
            expect((await values(r.explanation)).every(Number.isFinite)).toBe(true);
            for (const v of [r.scores.image, r.scores.explanation, r.scores.reference]) expect(v >= 0 && v <= 1).toBe(true);
            expect(Number.isFinite(r.lambda) && r.lambda >= 0).toBe(true);
            expect(r.steps).toBeGreaterThanOrEqual(1);
            expect(r.steps).toBeLessThanOrEqual(options.steps!);
            expect(r.history.map((h) => h.step)).toEqual(Array.from({ length: r.steps }, (_, i) => i + 1));
            expect(r.history.every((h) => [h.loss, h.score, h.l1, h.lambda].every(Number.isFinite))).toBe(true);
            expect(r.target).toBeLessThan(built.classes);
            const hooked = options.activations ?? DEFAULT_FILTERED_ACTIVATIONS;
            const expected = options.defense === false ? 0 : built.kernels.filter((k) => hooked.includes(k)).length;
            // Layer outputs (convolutions, adds, pooling) in the list are gated too, where the model has them.
            if (options.defense !== false && hooked.some((k) => LAYER_OUTPUT_KERNELS.includes(k))) {
              expect(r.filtered, `filtered (${built.kernels.join(',')})`).toBeGreaterThanOrEqual(expected);
            } else {
              expect(r.filtered, `filtered (${built.kernels.join(',')})`).toBe(expected);
            }
            expect(r.warnings.some((w) => /no activation kernel to filter/.test(w))).toBe(options.defense !== false && r.filtered === 0);
          } finally {
            r.dispose();
          }
        } finally {
          expectRestored(before);
          tf.dispose([input, ...built.weights]);
        }
      }),
      { numRuns: RUNS[backend], seed: SEED, endOnFailure: true },
    );
    console.log(`[fuzz] ${backend}: ${results} valid results, ${errors - interrupted} clear errors, ${interrupted} interrupted runs`);
    expect(results).toBeGreaterThan(0);
    expect(errors).toBeGreaterThan(0);
  });

  it('option validation on arbitrary values: a result or an FgvisArgumentError, nothing else', () => {
    const keys = ['game', 'lambda', 'steps', 'learningRate', 'optimizer', 'defense', 'activations', 'reference', 'blurSigma', 'classTerm', 'parameterization', 'scores', 'outputNode', 'earlyStop', 'backoff', 'onStep', 'signal', 'seed', 'readEvery', 'autoLambda'];
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom(...keys, 'stpes', 'x'), fc.anything())), (o) => {
        try {
          resolveExplainOptions(o as ExplainOptions);
        } catch (e) {
          expect(e).toSatisfy(isFgvisError);
          expect((e as Error).message).toMatch(/^Error in explain: options/);
        }
      }),
      { numRuns: backend === 'cpu' ? 2000 : 200, seed: SEED },
    );
  });
});
