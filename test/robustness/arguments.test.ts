/**
 * Bad arguments to every public function: each call must fail with an
 * `Error` whose message names the function, the argument, what was expected
 * and what was received, and must leave nothing behind (tensors, backend
 * buffers, registries). Table-driven: one row per bad argument.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AutoLambda,
  FgvisArgumentError,
  GradientFilter,
  adam,
  buildLoss,
  captureBounds,
  composeExplanation,
  createMask,
  explain,
  explainBatch,
  makeReference,
  optimize,
  scoreGoal,
  sgd,
  withGradientFilter,
  withInputGradientKernels,
  GateBounds,
  type ExplainableModel,
  type Target,
} from '../../src';
import {
  gradCam,
  gradientSaliency,
  integratedGradients,
  meaningfulPerturbation,
  occlusion,
  smoothGrad,
} from '../../src/baselines';
import {
  deletionInsertion,
  energyInRegion,
  explanationAsInputTest,
  adversarialEvidenceTest,
  pearson,
  pointingGame,
  randomizationSanityCheck,
  spearman,
  topKIntersection,
} from '../../src/metrics';
import {
  colormap,
  createColormap,
  createImage,
  crop,
  drawImage,
  drawText,
  heatmap,
  overlay,
  panel,
  resize,
  toRGBA,
} from '../../src/render';
import { trapezoidAuc } from '../../src/metrics/deletion-insertion';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeImage, encodePNG, loadModelFromDisk, readImage } from '../../src/node';
import { EXIT, run } from '../../src/cli/run';
import { useBackend } from '../backends';
import { SIZE, writeControlFlowModel, writeNoGradientModel } from './models';
import { expectClearError, expectRestored, rejection, reportCounts, smallNet, snapshot, uniform } from './helpers';

reportCounts('arguments');

/** A row: the function, the argument it must name, what it must say was received, and the call. */
type Row = [fn: string, argument: string | RegExp, received: string | RegExp, call: () => unknown];

/** Run every row: a clear error each, nothing left behind. */
function table(title: string, rows: () => Row[]): void {
  it(title, async () => {
    const list = rows();
    const failures: string[] = [];
    for (const [fn, argument, received, call] of list) {
      const before = snapshot();
      const n0 = fixtures.length;
      let e: unknown;
      try {
        e = await rejection(call);
      } catch (err) {
        e = err;
      }
      // Tensors the row itself made for the call (user tensors): free them before the leak check.
      tf.dispose(fixtures.splice(n0));
      try {
        expectClearError(e, fn, argument, received);
      } catch (err) {
        failures.push(`${fn} / ${String(argument)} (${String(received)}): ${(err as Error).message.split('\n')[0]}\n    got: ${(e as Error)?.message}`);
      }
      expectRestored(before, `${fn} ${String(argument)}:`);
    }
    if (failures.length > 0 && process.env.ROWFAIL) console.log(failures.map((f) => `ROWFAIL ${f}`).join('\n'));
    expect(failures, failures.join('\n')).toEqual([]);
    expect(list.length).toBeGreaterThan(0);
  });
}

let net: ReturnType<typeof smallNet>;
let x: tf.Tensor3D;
let fixtures: tf.Tensor[] = [];
/** A tensor made before the snapshots (so it does not count as a leak). */
const keep = <T extends tf.Tensor>(t: T): T => {
  fixtures.push(t);
  return t;
};
const disposed = (shape = [6, 6, 3]) => {
  const t = tf.zeros(shape);
  t.dispose();
  return t;
};

beforeAll(async () => {
  await useBackend('cpu');
  net = smallNet();
  x = keep(uniform([6, 6, 3], 3, 0, 1) as tf.Tensor3D);
});

describe('explain', () => {
  table('rejects bad models, inputs, targets and options', () => {
    const m = net.model;
    const f = 'explain';
    const wrongRef = keep(tf.zeros([5, 5, 3]));
    const nanRef = keep(tf.fill([6, 6, 3], NaN));
    const boolRef = keep(tf.zeros([6, 6, 3], 'bool'));
    const inputs: Array<[string | RegExp, unknown]> = [
      ['got undefined', undefined],
      ['got an array of length 2', [1, 2]],
      ['got an object of type Float32Array', new Float32Array(4)],
      ['got rank 2 [6,6]', keep(tf.zeros([6, 6]))],
      ['got rank 1', keep(tf.zeros([3]))],
      ['got rank 5', keep(tf.zeros([1, 1, 2, 2, 3]))],
      ['got shape [2,6,6,3]', keep(tf.zeros([2, 6, 6, 3]))],
      ['got dtype int32', keep(tf.zeros([6, 6, 3], 'int32'))],
      ['got dtype bool', keep(tf.zeros([6, 6, 3], 'bool'))],
      ['got shape [0,6,3]', keep(tf.zeros([0, 6, 3]))],
      ['got NaN at flat index 4', keep(tf.tensor3d([0, 0, 0, 0, NaN, 0], [1, 2, 3]))],
      ['got Infinity at flat index 0', keep(tf.tensor3d([Infinity, 0, 0], [1, 1, 3]))],
      ['got -Infinity at flat index 2', keep(tf.tensor3d([0, 0, -Infinity], [1, 1, 3]))],
      ['disposed', disposed()],
    ];
    const targets: unknown[] = [-1, 1.5, 4, 99, NaN, Infinity, '1', 'best', null, true, {}];
    const options: Array<[string, string | RegExp, unknown]> = [
      ['options', 'got "fast"', 'fast'],
      ['options', 'got 3', 3],
      ['options', 'got an array', []],
      ['options', 'got null', null],
      ['options.step', "did you mean 'steps'", { step: 3 }],
      ['options.learningrate', "did you mean 'learningRate'", { learningrate: 0.1 }],
      ['options.lamda', "did you mean 'lambda'", { lamda: 1 }],
      ['options.refrence', "did you mean 'reference'", { refrence: 'zero' }],
      ['options.onstep', "did you mean 'onStep'", { onstep: () => undefined }],
      ['options.defence', "did you mean 'defense'", { defence: false }],
      ['options.steps', 'got 0', { steps: 0 }],
      ['options.steps', 'got -5', { steps: -5 }],
      ['options.steps', 'got 1.5', { steps: 1.5 }],
      ['options.steps', 'got NaN', { steps: NaN }],
      ['options.steps', 'got "10"', { steps: '10' }],
      ['options.steps', 'got Infinity', { steps: Infinity }],
      ['options.learningRate', 'got 0', { learningRate: 0 }],
      ['options.learningRate', 'got -0.1', { learningRate: -0.1 }],
      ['options.learningRate', 'got NaN', { learningRate: NaN }],
      ['options.learningRate', 'got Infinity', { learningRate: Infinity }],
      ['options.lambda', 'got NaN', { lambda: NaN }],
      ['options.lambda', 'got -1', { lambda: -1 }],
      ['options.lambda', 'got Infinity', { lambda: Infinity }],
      ['options.lambda', 'got "Auto"', { lambda: 'Auto' }],
      ['options.game', 'got "preserve"', { game: 'preserve' }],
      ['options.optimizer', 'got "rmsprop"', { optimizer: 'rmsprop' }],
      ['options.defense', 'got "yes"', { defense: 'yes' }],
      ['options.gatedKernels', 'got "Relu"', { gatedKernels: 'Relu' }],
      ['options.gatedKernels', 'contains "relu"', { gatedKernels: ['relu'] }],
      ['options.gatedKernels', 'got an array of length 1', { gatedKernels: [1] }],
      ['options.activations', 'contains "relu"', { activations: ['relu'] }],
      ['options.activations', 'deprecated name of options.gatedKernels', { activations: ['Relu'], gatedKernels: ['Relu'] }],
      ['options.reference', 'got "zeros"', { reference: 'zeros' }],
      ['options.reference', 'got Infinity', { reference: Infinity }],
      ['options.reference', 'one per channel (3), got 2 values', { reference: [0.5, 0.5] }],
      ['options.reference', 'got [5,5,3]', { reference: wrongRef }],
      ['options.reference', 'disposed', { reference: disposed() }],
      ['options.reference', 'got NaN at flat index 0', { reference: nanRef }],
      ['options.reference', 'got dtype bool', { reference: boolRef }],
      ['options.blurSigma', 'got 0', { blurSigma: 0 }],
      ['options.blurSigma', 'got NaN', { blurSigma: NaN }],
      ['options.classTerm', 'got "ce"', { classTerm: 'ce' }],
      ['options.parameterization', 'got "tanh"', { parameterization: 'tanh' }],
      ['options.scores', 'got "probs"', { scores: 'probs' }],
      ['options.outputNode', 'got ""', { outputNode: '' }],
      ['options.outputNode', 'got 5', { outputNode: 5 }],
      ['options.outputNode', 'function model', { outputNode: 'logits' }],
      ['options.earlyStop', 'got true', { earlyStop: true }],
      ['options.earlyStop', 'got an array', { earlyStop: [] }],
      ['options.earlyStop.patience', 'got 0', { earlyStop: { patience: 0 } }],
      ['options.earlyStop.minDelta', 'got -1', { earlyStop: { minDelta: -1 } }],
      ['options.earlyStop.patiense', "did you mean 'patience'", { earlyStop: { patiense: 3 } }],
      ['options.backoff.after', 'got 0', { backoff: { after: 0 } }],
      ['options.backoff.learningRateFactor', 'got 2', { backoff: { learningRateFactor: 2 } }],
      ['options.backoff.maxBackoffs', 'got -1', { backoff: { maxBackoffs: -1 } }],
      ['options.backoff', 'got 3', { backoff: 3 }],
      ['options.onStep', 'got "log"', { onStep: 'log' }],
      ['options.signal', 'got an object', { signal: {} }],
      ['options.seed', 'got NaN', { seed: NaN }],
      ['options.seed', 'got "a"', { seed: 'a' }],
      ['options.readEvery', 'got 0', { readEvery: 0 }],
      ['options.readEvery', 'got 1.5', { readEvery: 1.5 }],
      ['options.autoLambda', 'got an array', { autoLambda: [] }],
      ['options.autoLambda.tolerance', 'got -1', { autoLambda: { tolerance: -1 } }],
      ['options.autoLambda.initial', 'got 0', { autoLambda: { initial: 0 } }],
      ['options.autoLambda.min', 'got min 10 and max 1', { autoLambda: { min: 10, max: 1 } }],
      ['options.autoLambda.tolerence', "did you mean 'tolerance'", { autoLambda: { tolerence: 0.1 } }],
      ['options.autoLambda.deletionFraction', 'got 2', { autoLambda: { deletionFraction: 2 } }],
    ];
    return [
      [f, 'model', 'got null', () => explain(null as never, x, 0)],
      [f, 'model', 'got 42', () => explain(42 as never, x, 0)],
      [f, 'model', 'got an object', () => explain({} as never, x, 0)],
      [f, 'model', 'got "mobilenet"', () => explain('mobilenet' as never, x, 0)],
      ...inputs.map(([got, input]): Row => [f, 'input', got, () => explain(m, input as never, 0)]),
      ...targets.map((t): Row => [f, 'target', /got /, () => explain(m, x, t as never, { steps: 1 })]),
      ...options.map(([arg, got, o]): Row => [f, arg, got, () => explain(m, x, 0, o as never)]),
      // explainBatch takes the same options and checks them the same way (it accepts a batch of inputs).
      ...inputs.filter(([got]) => got !== 'got shape [2,6,6,3]').map(([got, input]): Row => ['explainBatch', 'input', got, () => explainBatch(m, input as never, [0])]),
      ...targets.map((t): Row => ['explainBatch', 'target', /got /, () => explainBatch(m, x, [0, t as never], { steps: 1 })]),
      ...options.map(([arg, got, o]): Row => ['explainBatch', arg, got, () => explainBatch(m, x, [0], o as never)]),
      ['explainBatch', 'targets', 'must not be an empty array', () => explainBatch(m, x, [])],
      ['explainBatch', 'targets', 'one target per image (2)', () => explainBatch(m, keep(tf.zeros([2, 6, 6, 3])), [0, 1, 2])],
      ['explainBatch', 'options.batchSize', 'got 0', () => explainBatch(m, x, [0], { batchSize: 0 })],
      ['explainBatch', 'options.batchSize', 'got 1.5', () => explainBatch(m, x, [0], { batchSize: 1.5 })],
      ['explainBatch', 'options.batchsize', "did you mean 'batchSize'", () => explainBatch(m, x, [0], { batchsize: 2 } as never)],
    ];
  });
});

describe('the pieces', () => {
  table('createMask, makeReference, composeExplanation', () => {
    const x4 = keep(uniform([1, 4, 4, 3], 1, 0, 1) as tf.Tensor4D);
    const m = keep(tf.ones([1, 4, 4, 3]));
    return [
      ['createMask', 'shape', 'got "4"', () => createMask('4' as never)],
      ['createMask', 'shape', 'got an array of length 0', () => createMask([])],
      ['createMask', 'shape', 'got an array of length 2', () => createMask([0, 3])],
      ['createMask', 'shape', 'got an array of length 1', () => createMask([1.5])],
      ['createMask', 'options.parameterization', 'got "tanh"', () => createMask([2, 2], { parameterization: 'tanh' as never })],
      ['createMask', 'options.parametrization', "did you mean 'parameterization'", () => createMask([2, 2], { parametrization: 'sigmoid' } as never)],
      ['createMask', 'options', 'got "clip"', () => createMask([2, 2], 'clip' as never)],
      ['makeReference', 'x', 'got null', () => makeReference(null as never, 'mean')],
      ['makeReference', 'x', 'got rank 3', () => makeReference(keep(tf.zeros([4, 4, 3])) as never, 'mean')],
      ['makeReference', 'x', 'disposed', () => makeReference(disposed([1, 4, 4, 3]) as never, 'mean')],
      ['makeReference', 'options.reference', 'got "zeros"', () => makeReference(x4, 'zeros' as never)],
      ['makeReference', 'options.reference', 'got [4,3]', () => makeReference(x4, keep(tf.zeros([4, 3])))],
      ['makeReference', 'options.reference', 'disposed', () => makeReference(x4, disposed([4, 4, 3]))],
      ['makeReference', 'options.blurSigma', 'got -1', () => makeReference(x4, 'blur', { blurSigma: -1 })],
      ['makeReference', 'options.blursigma', "did you mean 'blurSigma'", () => makeReference(x4, 'blur', { blursigma: 2 } as never)],
      ['makeReference', 'options.seed', 'got NaN', () => makeReference(x4, 'noise', { seed: NaN })],
      ['composeExplanation', 'm', 'got null', () => composeExplanation(null as never, x4, null)],
      ['composeExplanation', 'x', 'got an array', () => composeExplanation(m, [1] as never, null)],
      ['composeExplanation', 'm', 'got [1,4,3,3]', () => composeExplanation(keep(tf.ones([1, 4, 3, 3])), x4, null)],
      ['composeExplanation', 'r', 'got [2,2]', () => composeExplanation(m, x4, keep(tf.zeros([2, 2])))],
      ['composeExplanation', 'x', 'disposed', () => composeExplanation(m, disposed([1, 4, 4, 3]), null)],
    ];
  });

  table('captureBounds, withGradientFilter, GradientFilter, withInputGradientKernels', () => {
    const bounds = new GateBounds([], ['Relu']);
    const gone = new GateBounds([], ['Relu']);
    gone.dispose();
    return [
      ['captureBounds', 'f', 'got undefined', () => captureBounds(undefined as never)],
      ['captureBounds', 'f', 'got 3', () => captureBounds(3 as never)],
      ['captureBounds', 'options', 'got "Relu"', () => captureBounds(() => 0, 'Relu' as never)],
      ['captureBounds', 'options.gatedKernels', 'contains "relu"', () => captureBounds(() => 0, { gatedKernels: ['relu'] })],
      ['captureBounds', 'options.gatedKernels', 'got "Relu"', () => captureBounds(() => 0, { gatedKernels: 'Relu' as never })],
      ['captureBounds', 'options.activation', "did you mean 'activations'", () => captureBounds(() => 0, { activation: ['Relu'] } as never)],
      ['captureBounds', 'options.measureBlocked', 'got "yes"', () => captureBounds(() => 0, { measureBlocked: 'yes' as never })],
      ['captureBounds', 'f', 'Promise', () => captureBounds(async () => 0)],
      ['withGradientFilter', 'bounds', 'got null', () => withGradientFilter(null as never, () => 0)],
      ['withGradientFilter', 'bounds', 'got an object', () => withGradientFilter({ entries: [] } as never, () => 0)],
      ['withGradientFilter', 'bounds', 'disposed', () => withGradientFilter(gone, () => 0)],
      ['withGradientFilter', 'f', 'got "f"', () => withGradientFilter(bounds, 'f' as never)],
      ['withGradientFilter', 'options.fuse', "did you mean 'fused'", () => withGradientFilter(bounds, () => 0, { fuse: false } as never)],
      ['withGradientFilter', 'options.fused', 'got 1', () => withGradientFilter(bounds, () => 0, { fused: 1 as never })],
      ['GradientFilter', 'options', 'got 5', () => new GradientFilter(5 as never)],
      ['GradientFilter', 'options.gatedKernels', 'got an array of length 1', () => new GradientFilter({ gatedKernels: [''] })],
      ['GradientFilter', 'options.gatedKernels', 'contains "relu"', () => new GradientFilter({ gatedKernels: ['relu'] })],
      ['GradientFilter', 'options.activations', 'contains "relu"', () => new GradientFilter({ activations: ['relu'] })],
      ['GradientFilter', 'options.activation', "did you mean 'activations'", () => new GradientFilter({ activation: ['Relu'] } as never)],
      ['GradientFilter.run', 'f', 'got null', () => new GradientFilter().run(null as never)],
      ['withInputGradientKernels', 'f', 'got undefined', () => withInputGradientKernels(undefined as never)],
      ['withInputGradientKernels', 'f', 'Promise', () => withInputGradientKernels(async () => 0)],
      ['withInputGradientKernels', 'options', 'got "fast"', () => withInputGradientKernels(() => 0, 'fast' as never)],
      ['withInputGradientKernels', 'options.zeroFilterGradient', "did you mean 'zeroFilterGradients'", () => withInputGradientKernels(() => 0, { zeroFilterGradient: false } as never)],
      ['withInputGradientKernels', 'options.missingKernels', 'got "no"', () => withInputGradientKernels(() => 0, { missingKernels: 'no' as never })],
    ];
  });

  table('buildLoss, adam, sgd, optimize, AutoLambda, scoreGoal', () => {
    const v = keep(tf.variable(tf.ones([2]), true));
    const probs = keep(tf.tensor2d([[0.5, 0.5]]));
    const noop = { name: 'noop', learningRate: 1, reset() {}, apply() {}, update: (g: tf.Tensor) => tf.zerosLike(g), dispose() {} };
    const okOpt = () => ({ steps: 2, optimizer: noop, computeStep: () => ({ grad: tf.zeros([2]), record: {} }) });
    return [
      ['buildLoss', 'options', 'got undefined', () => buildLoss(undefined as never)],
      ['buildLoss', 'options', 'got "x"', () => buildLoss('x' as never)],
      ['buildLoss', 'options.game', 'got "keep"', () => buildLoss({ target: 0, game: 'keep' as never })],
      ['buildLoss', 'options.classTerm', 'got "logit"', () => buildLoss({ target: 0, classTerm: 'logit' as never })],
      ['buildLoss', 'options.target', 'got -1', () => buildLoss({ target: -1 })],
      ['buildLoss', 'options.target', 'got 0.5', () => buildLoss({ target: 0.5 })],
      ['buildLoss', 'options.target', 'got undefined', () => buildLoss({} as never)],
      ['buildLoss', 'options.imageProbs', 'cross-entropy', () => buildLoss({ target: 0, classTerm: 'cross-entropy' })],
      ['buildLoss', 'options.imageProbs', 'got an array', () => buildLoss({ target: 0, classTerm: 'cross-entropy', imageProbs: [0.5] as never })],
      ['buildLoss', 'options.target', 'got 2', () => buildLoss({ target: 2, imageProbs: probs })],
      ['buildLoss', 'options.tagret', "did you mean 'target'", () => buildLoss({ tagret: 0 } as never)],
      ['adam', 'learningRate', 'got 0', () => adam({ learningRate: 0 })],
      ['adam', 'learningRate', 'got NaN', () => adam({ learningRate: NaN })],
      ['adam', 'beta1', 'got 1.5', () => adam({ beta1: 1.5 })],
      ['adam', 'beta2', 'got NaN', () => adam({ beta2: NaN })],
      ['adam', 'epsilon', 'got -1', () => adam({ epsilon: -1 })],
      ['adam', 'options.lr', 'known options', () => adam({ lr: 0.1 } as never)],
      ['adam', 'options', 'got 0.1', () => adam(0.1 as never)],
      ['sgd', 'learningRate', 'got -1', () => sgd({ learningRate: -1 })],
      ['sgd', 'momentum', 'got 1', () => sgd({ momentum: 1 })],
      ['sgd', 'momentum', 'got NaN', () => sgd({ momentum: NaN })],
      ['sgd', 'options.momentun', "did you mean 'momentum'", () => sgd({ momentun: 0.9 } as never)],
      ['optimize', 'param', 'got a float32 tensor', () => optimize(keep(tf.ones([2])) as never, okOpt())],
      ['optimize', 'param', 'got null', () => optimize(null as never, okOpt())],
      ['optimize', 'options', 'got undefined', () => optimize(v, undefined as never)],
      ['optimize', 'options.steps', 'got 0', () => optimize(v, { ...okOpt(), steps: 0 })],
      ['optimize', 'options.readEvery', 'got -1', () => optimize(v, { ...okOpt(), readEvery: -1 })],
      ['optimize', 'options.optimizer', 'got "adam"', () => optimize(v, { ...okOpt(), optimizer: 'adam' as never })],
      ['optimize', 'options.computeStep', 'got undefined', () => optimize(v, { ...okOpt(), computeStep: undefined as never })],
      ['optimize', 'options.onStep', 'got 1', () => optimize(v, { ...okOpt(), onStep: 1 as never })],
      ['optimize', 'options.signal', 'got "stop"', () => optimize(v, { ...okOpt(), signal: 'stop' as never })],
      ['optimize', 'options.step', "did you mean 'steps'", () => optimize(v, { ...okOpt(), step: 3 } as never)],
      ['optimize', 'options.computeStep', 'got a float32 tensor', () => optimize(v, { ...okOpt(), computeStep: () => ({ grad: tf.zeros([3]), record: {} }) })],
      ['scoreGoal', 'game', 'got "keep"', () => scoreGoal('keep' as never, 0.9, 0.1)],
      ['scoreGoal', 'scoreImage', 'got NaN', () => scoreGoal('preservation', NaN, 0.1)],
      ['scoreGoal', 'scoreReference', 'got 2', () => scoreGoal('deletion', 0.9, 2)],
      ['scoreGoal', 'options.tolerance', 'got -1', () => scoreGoal('preservation', 0.9, 0.1, { tolerance: -1 })],
      ['AutoLambda', 'goal', 'got null', () => new AutoLambda(null as never)],
      ['AutoLambda', 'goal.direction', 'got "up"', () => new AutoLambda({ direction: 'up' as never, score: 0.5 })],
      ['AutoLambda', 'goal.score', 'got NaN', () => new AutoLambda({ direction: 'atLeast', score: NaN })],
      ['AutoLambda', 'options.initial', 'got -1', () => new AutoLambda({ direction: 'atLeast', score: 0.5 }, { initial: -1 })],
      ['AutoLambda', 'options.intial', "did you mean 'initial'", () => new AutoLambda({ direction: 'atLeast', score: 0.5 }, { intial: 1 } as never)],
    ];
  });
});

describe('baselines', () => {
  table('every baseline names itself and the bad argument', () => {
    const m = net.model;
    type Baseline = (model: ExplainableModel, input: tf.Tensor, target: Target, options?: object) => Promise<unknown>;
    const baselines: Array<[string, Baseline]> = [
      ['gradientSaliency', gradientSaliency],
      ['smoothGrad', smoothGrad],
      ['integratedGradients', integratedGradients],
      ['gradCam', gradCam],
      ['occlusion', occlusion],
      ['meaningfulPerturbation', meaningfulPerturbation],
    ];
    const rows: Row[] = [];
    for (const [name, method] of baselines) {
      rows.push(
        [name, 'model', 'got null', () => method(null as never, x, 0)],
        [name, 'input', 'got rank 2', () => method(m, keep(tf.zeros([6, 6])), 0, name === 'gradCam' ? { split: { features: (v: tf.Tensor) => v, head: m } } : undefined)],
        [name, 'input', 'got dtype int32', () => method(m, keep(tf.zeros([6, 6, 3], 'int32')), 0)],
        [name, 'input', 'disposed', () => method(m, disposed(), 0)],
        [name, 'input', 'got NaN', () => method(m, keep(tf.fill([6, 6, 3], NaN)), 0)],
        [name, 'options', 'got "fast"', () => method(m, x, 0, 'fast' as never)],
        [name, 'options.scores', 'got "probs"', () => method(m, x, 0, { scores: 'probs' })],
        [name, /options\.scroes/, "did you mean 'scores'", () => method(m, x, 0, { scroes: 'auto' })],
      );
      if (name !== 'gradCam') {
        rows.push(
          [name, 'target', 'got 4', () => method(m, x, 4)],
          [name, 'target', 'got -1', () => method(m, x, -1)],
          [name, 'target', 'got "cat"', () => method(m, x, 'cat')],
        );
      }
    }
    rows.push(
      ['smoothGrad', 'options.samples', 'got 0', () => smoothGrad(m, x, 0, { samples: 0 })],
      ['smoothGrad', 'options.noise', 'got -1', () => smoothGrad(m, x, 0, { noise: -1 })],
      ['smoothGrad', 'options.sample', "did you mean 'samples'", () => smoothGrad(m, x, 0, { sample: 3 } as never)],
      ['integratedGradients', 'options.steps', 'got 0', () => integratedGradients(m, x, 0, { steps: 0 })],
      ['integratedGradients', 'options.baseline', 'got [2,2]', () => integratedGradients(m, x, 0, { baseline: keep(tf.zeros([2, 2])) })],
      ['integratedGradients', 'options.rule', 'got "simpson"', () => integratedGradients(m, x, 0, { rule: 'simpson' as never })],
      ['gradCam', 'options.split', 'function model', () => gradCam(m, x, 0)],
      ['gradCam', 'options.split', 'function model', () => gradCam(m, x, 0, { layer: 'conv' })],
      ['occlusion', 'options.patchSize', 'got 0', () => occlusion(m, x, 0, { patchSize: 0 })],
      ['occlusion', 'options.stride', 'got 0', () => occlusion(m, x, 0, { stride: 0 })],
      ['occlusion', 'options.batchSize', 'got 2.5', () => occlusion(m, x, 0, { batchSize: 2.5 })],
      ['meaningfulPerturbation', 'options.steps', 'got -3', () => meaningfulPerturbation(m, x, 0, { steps: -3 })],
      ['meaningfulPerturbation', 'options.learningRate', 'got 0', () => meaningfulPerturbation(m, x, 0, { learningRate: 0 })],
      ['meaningfulPerturbation', 'options.tv', 'got NaN', () => meaningfulPerturbation(m, x, 0, { tv: NaN })],
    );
    return rows;
  });
});

describe('metrics', () => {
  table('every metric names itself and the bad argument', () => {
    const m = net.model;
    const s = keep(tf.ones([6, 6]) as tf.Tensor2D);
    const region = Array.from({ length: 6 }, (_, r) => Array.from({ length: 6 }, (_, c) => r < 3 && c < 3));
    const method = gradientSaliency;
    return [
      ['deletionInsertion', 'saliency', 'got [5,5]', () => deletionInsertion(m, x, keep(tf.ones([5, 5])) as tf.Tensor2D, 0)],
      ['deletionInsertion', 'saliency', 'got rank 3', () => deletionInsertion(m, x, keep(tf.ones([6, 6, 1])) as never, 0)],
      ['deletionInsertion', 'saliency', 'got NaN', () => deletionInsertion(m, x, keep(tf.fill([6, 6], NaN)) as tf.Tensor2D, 0)],
      ['deletionInsertion', 'saliency', 'disposed', () => deletionInsertion(m, x, disposed([6, 6]) as tf.Tensor2D, 0)],
      ['deletionInsertion', 'input', 'got rank 2', () => deletionInsertion(m, keep(tf.ones([6, 6])), s, 0)],
      ['deletionInsertion', 'target', 'got 7', () => deletionInsertion(m, x, s, 7)],
      ['deletionInsertion', 'options.mode', 'got "all"', () => deletionInsertion(m, x, s, 0, { mode: 'all' as never })],
      ['deletionInsertion', 'options.steps', 'got 0', () => deletionInsertion(m, x, s, 0, { steps: 0 })],
      ['deletionInsertion', 'options.setps', "did you mean 'steps'", () => deletionInsertion(m, x, s, 0, { setps: 3 } as never)],
      ['deletionInsertion', 'model', 'got undefined', () => deletionInsertion(undefined as never, x, s, 0)],
      ['pointingGame', 'saliency', 'got an array', () => pointingGame([[1]] as never, region)],
      ['pointingGame', 'region', 'must have 6 rows', () => pointingGame(s, [[true]])],
      ['pointingGame', 'region', 'got [3,3]', () => pointingGame(s, keep(tf.ones([3, 3])))],
      ['pointingGame', 'region', 'is empty', () => pointingGame(s, region.map((r) => r.map(() => false)))],
      ['pointingGame', 'options.tolerance', 'got -1', () => pointingGame(s, region, { tolerance: -1 })],
      ['pointingGame', 'options.tolerence', "did you mean 'tolerance'", () => pointingGame(s, region, { tolerence: 1 } as never)],
      ['energyInRegion', 'saliency', 'got -1', () => energyInRegion(keep(tf.fill([6, 6], -1)) as tf.Tensor2D, region)],
      ['energyInRegion', 'region', 'got null', () => energyInRegion(s, null as never)],
      ['randomizationSanityCheck', 'method', 'got undefined', () => randomizationSanityCheck(m, x, 0, undefined as never)],
      ['randomizationSanityCheck', 'model', 'function model', () => randomizationSanityCheck(m, x, 0, method)],
      ['randomizationSanityCheck', 'options.mode', 'got "all"', () => randomizationSanityCheck(m, x, 0, method, { mode: 'all' as never })],
      ['randomizationSanityCheck', 'options.topK', 'got 0', () => randomizationSanityCheck(m, x, 0, method, { topK: 0 })],
      ['randomizationSanityCheck', 'options.seeds', "did you mean 'seed'", () => randomizationSanityCheck(m, x, 0, method, { seeds: 1 } as never)],
      ['adversarialEvidenceTest', 'input', 'got undefined', () => adversarialEvidenceTest(m, undefined as never)],
      ['adversarialEvidenceTest', 'options.explain', 'got 3', () => adversarialEvidenceTest(m, x, { explain: 3 as never })],
      ['adversarialEvidenceTest', 'options.explain.game', 'may not be given', () => adversarialEvidenceTest(m, x, { explain: { game: 'deletion' } as never })],
      ['adversarialEvidenceTest', 'options.explain.step', "did you mean 'steps'", () => adversarialEvidenceTest(m, x, { explain: { step: 3 } as never })],
      ['explanationAsInputTest', 'modelB', 'got null', () => explanationAsInputTest(m, null as never, x, 0)],
      ['explanationAsInputTest', 'target', 'got 9', () => explanationAsInputTest(m, m, x, 9)],
      ['explanationAsInputTest', 'options.keepExplanation', 'got "yes"', () => explanationAsInputTest(m, m, x, 0, { keepExplanation: 'yes' as never })],
      ['pearson', /\bb\b/, 'got 3', () => pearson([1, 2], [1, 2, 3])],
      ['spearman', /\ba\b/, 'got "ab"', () => spearman('ab' as never, [1, 2])],
      ['topKIntersection', 'fraction', 'got 0', () => topKIntersection([1, 2], [1, 2], 0)],
      ['trapezoidAuc', /\by\b/, 'got NaN', () => trapezoidAuc([0, NaN, 1])],
      ['trapezoidAuc', /\bx\b/, 'got an array of length 2', () => trapezoidAuc([0, 1, 1], [0, 1])],
    ];
  });
});

describe('render', () => {
  table('render functions name themselves and the bad argument', () => {
    const img = createImage(4, 4, [10, 20, 30, 255]);
    return [
      ['heatmap', 'width', 'got 0', () => heatmap([1], 0, 1)],
      ['heatmap', 'height', 'got 1.5', () => heatmap([1], 1, 1.5)],
      ['heatmap', 'values', 'got 3', () => heatmap([1, 2, 3], 2, 2)],
      ['heatmap', 'values', 'got null', () => heatmap(null as never, 2, 2)],
      ['heatmap', 'options.min', 'got 2 and 1', () => heatmap([1, 2, 3, 4], 2, 2, { min: 2, max: 1 })],
      ['heatmap', 'options.alpha', 'got 300', () => heatmap([1, 2, 3, 4], 2, 2, { alpha: 300 })],
      ['heatmap', 'options.colorMap', "did you mean 'colormap'", () => heatmap([1, 2, 3, 4], 2, 2, { colorMap: 'inferno' } as never)],
      ['colormap', 'name', 'got "jet"', () => colormap('jet' as never)],
      ['createColormap', 'anchors', 'got 1', () => createColormap('x', [{ at: 0, color: '#000000' }] as never)],
      ['toRGBA', 'input', 'got null', () => toRGBA(null as never)],
      ['toRGBA', 'input', 'got [2, 2, 5]', () => toRGBA({ shape: [2, 2, 5], data: new Float32Array(20) })],
      ['toRGBA', 'input', 'has 3 values', () => toRGBA({ shape: [2, 2], data: new Float32Array(3) })],
      ['toRGBA', 'input', 'disposed', () => toRGBA(disposed([2, 2]))],
      ['toRGBA', 'options.min', 'got 1 and 0', () => toRGBA({ shape: [2, 2], data: new Float32Array(4) }, { min: 1, max: 0 })],
      ['toRGBA', 'options.mni', "did you mean 'min'", () => toRGBA({ shape: [2, 2], data: new Float32Array(4) }, { mni: 0 } as never)],
      ['overlay', 'base', 'got null', () => overlay(null as never, img)],
      ['overlay', 'heat', 'got an object', () => overlay(img, { width: 4 } as never)],
      ['overlay', 'options.alpha', 'got 2', () => overlay(img, img, { alpha: 2 })],
      ['overlay', 'options.opacity', 'known options', () => overlay(img, img, { opacity: 0.5 } as never)],
      ['resize', 'width', 'got -1', () => resize(img, -1, 2)],
      ['resize', 'options.method', 'got "cubic"', () => resize(img, 2, 2, { method: 'cubic' as never })],
      ['resize', 'options.methd', "did you mean 'method'", () => resize(img, 2, 2, { methd: 'nearest' } as never)],
      ['crop', 'rectangle', '(0, 0, 9x2)', () => crop(img, 0, 0, 9, 2)],
      ['crop', 'rectangle', '(-1, 0, 2x2)', () => crop(img, -1, 0, 2, 2)],
      ['crop', 'width', 'got 0', () => crop(img, 0, 0, 0, 2)],
      ['panel', 'items', 'got an array of length 0', () => panel([])],
      ['panel', 'items[0].image', 'got null', () => panel([{ image: null as never }])],
      ['panel', 'options.columns', 'got 0', () => panel([{ image: img }], { columns: 0 })],
      ['panel', 'options.colums', "did you mean 'columns'", () => panel([{ image: img }], { colums: 2 } as never)],
      ['createImage', 'width', 'got 0', () => createImage(0, 2)],
      ['createImage', 'fill', 'got [1, 2, 3]', () => createImage(2, 2, [1, 2, 3] as never)],
      ['drawImage', 'src', 'got undefined', () => drawImage(img, undefined as never, 0, 0)],
      ['drawImage', /\by\b/, 'got NaN', () => drawImage(img, img, 0, NaN)],
      ['drawText', 'text', 'got 5', () => drawText(img, 5 as never, 0, 0)],
      ['drawText', 'options.scale', 'got 0', () => drawText(img, 'a', 0, 0, { scale: 0 })],
    ];
  });
});

describe('node and the command line', () => {
  let dir: string;
  let noGradient: string;
  let controlFlow: string;
  let image: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fgvis-robustness-'));
    writeFileSync(join(dir, 'text.png'), 'not an image');
    writeFileSync(join(dir, 'empty.png'), '');
    writeFileSync(join(dir, 'bad.json'), '{ not json');
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ hello: 'world' }));
    writeFileSync(join(dir, 'neither.json'), JSON.stringify({ modelTopology: { x: 1 } }));
    mkdirSync(join(dir, 'folder'));
    noGradient = writeNoGradientModel(join(dir, 'cumprod'));
    controlFlow = writeControlFlowModel(join(dir, 'control'));
    image = join(dir, 'image.png');
    writeFileSync(image, encodePNG(createImage(SIZE, SIZE, [200, 100, 50, 255])));
  });

  table('readImage, decodeImage, loadModelFromDisk', () => [
    ['readImage', 'path', 'got 42', () => readImage(42 as never)],
    ['readImage', 'path', 'got ""', () => readImage('')],
    ['readImage', 'no-such.png', 'does not exist', () => readImage(join(dir, 'no-such.png'))],
    ['readImage', 'folder', 'is a directory', () => readImage(join(dir, 'folder'))],
    ['readImage', 'text.png', 'not a PNG, JPEG or WebP', () => readImage(join(dir, 'text.png'))],
    ['readImage', 'empty.png', 'not a PNG, JPEG or WebP', () => readImage(join(dir, 'empty.png'))],
    ['decodeImage', 'bytes', 'not a PNG, JPEG or WebP', () => decodeImage(new Uint8Array([1, 2, 3]), 'bytes')],
    ['loadModelFromDisk', 'path', 'got 42', () => loadModelFromDisk(42 as never)],
    ['loadModelFromDisk', 'path', 'got ""', () => loadModelFromDisk('')],
    ['loadModelFromDisk', 'no-such.json', 'does not exist', () => loadModelFromDisk(join(dir, 'no-such.json'))],
    ['loadModelFromDisk', 'folder', 'does not exist', () => loadModelFromDisk(join(dir, 'folder'))],
    ['loadModelFromDisk', 'bad.json', 'is not valid JSON', () => loadModelFromDisk(join(dir, 'bad.json'))],
    ['loadModelFromDisk', 'other.json', 'is not a tfjs model.json', () => loadModelFromDisk(join(dir, 'other.json'))],
    ['loadModelFromDisk', 'neither.json', 'is neither a graph-model nor a layers-model', () => loadModelFromDisk(join(dir, 'neither.json'))],
    ['loadModelFromDisk', 'options.kind', 'got "keras"', () => loadModelFromDisk(noGradient, { kind: 'keras' as never })],
    ['loadModelFromDisk', 'options.knd', "did you mean 'kind'", () => loadModelFromDisk(noGradient, { knd: 'graph' } as never)],
  ]);

  it('run(): every failure is one line on stderr with a distinct exit code; nothing leaks', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['explain', '-m', noGradient, '-i', image, '--stpes', '3'], EXIT.USAGE, /unknown option '--stpes'.*Did you mean --steps\?/],
      [['explain', '-m', noGradient, '-i', image, '--steps', '-1'], EXIT.USAGE, /--steps <n>' argument '-1' is invalid/],
      [['explain', '-m', noGradient, '-i', image, '--steps', 'ten'], EXIT.USAGE, /argument 'ten' is invalid/],
      [['explain', '-m', noGradient, '-i', image, '--lambda', 'NaN'], EXIT.USAGE, /--lambda <value>' argument 'NaN' is invalid/],
      [['explain', '-m', noGradient, '-i', image, '--seed', '1.5'], EXIT.USAGE, /--seed <n>' argument '1.5' is invalid/],
      [['explain', '-m', noGradient, '-i', image, '--target', '-2', '--backend', 'cpu'], EXIT.BAD_TARGET, /target "-2" is a class name, but .* has no class names/],
      [['explain', '-m', noGradient, '-i', image, '--backend', 'tpu'], EXIT.USAGE, /'tpu' is invalid\. Allowed choices are/],
      [['explain', '-m', noGradient], EXIT.USAGE, /give --image <file> \(one image\) or --images <folder\|glob> with --out-dir <dir> \(many\)/],
      [['explian'], EXIT.USAGE, /unknown command 'explian'.*Did you mean explain\?/],
      [['explain', '-m', noGradient, '-i', join(dir, 'no-such.png'), '--backend', 'cpu'], EXIT.NOT_FOUND, /image file not found/],
      [['explain', '-m', noGradient, '-i', join(dir, 'text.png'), '--backend', 'cpu'], EXIT.BAD_IMAGE, /image .*text.png is not a PNG, JPEG or WebP image/],
      [['explain', '-m', join(dir, 'bad.json'), '-i', image, '--backend', 'cpu'], EXIT.MODEL, /cannot be loaded: .*is not valid JSON/],
      [['explain', '-m', controlFlow, '-i', image, '--backend', 'cpu'], EXIT.MODEL, /the model cannot be explained: the GraphModel contains dynamic control flow and needs executeAsync\(\)/],
      [['explain', '-m', noGradient, '-i', image, '--backend', 'cpu', '--steps', '2'], EXIT.MODEL, /the model cannot be explained: the model uses the op 'Cumprod', which has no registered gradient/],
      [['explain', '-m', noGradient, '-i', image, '--backend', 'cpu', '--target', '9'], EXIT.BAD_TARGET, /target is not a class of .*got 9/],
    ];
    for (const [argv, code, message] of cases) {
      const before = snapshot();
      const out = { text: '', write(s: string) { this.text += s; return true; } };
      const err = { text: '', write(s: string) { this.text += s; return true; } };
      const exit = await run(argv, { stdout: out, stderr: err, cwd: dir });
      const line = err.text.replace(/\s*\n\s*/g, ' ').trim();
      expect(line, argv.join(' ')).toMatch(message);
      expect(line.startsWith('fgvis: '), line).toBe(true);
      expect(exit, `${argv.join(' ')}: ${line}`).toBe(code);
      expect(out.text).toBe('');
      await useBackend('cpu');
      expectRestored(before, argv.join(' '));
    }
  });
});

describe('errors are FgvisArgumentErrors with fn and argument fields', () => {
  it('explain', async () => {
    const e = await rejection(explain(net.model, x, 0, { step: 3 } as never));
    expect(e).toBeInstanceOf(FgvisArgumentError);
    expect((e as FgvisArgumentError).fn).toBe('explain');
    expect((e as FgvisArgumentError).argument).toBe('options.step');
  });
});

describe('cleanup', () => {
  it('frees the fixtures', () => {
    tf.dispose(fixtures);
    fixtures = [];
    net.dispose();
  });
});
