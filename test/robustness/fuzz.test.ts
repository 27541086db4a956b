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
 *
 * Files from strangers (at the end): mutated PNG/JPEG/WebP bytes (flipped,
 * cut, inserted and repeated bytes; header fields, chunk and segment bytes set
 * to arbitrary values, CRCs rewritten) and mutated model.json manifests
 * (shapes, dtypes, quantization, paths, names, sizes, whole manifests and
 * topologies replaced): a result or a clear FgvisImageError /
 * FgvisModelFileError, never an internal error, a hang or unbounded memory
 * (FGVIS_FUZZ_FILE_RUNS runs, default 500 images and 167 models).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { explain, FgvisArgumentError, type ExplainOptions } from '../../src';
import { resolveExplainOptions } from '../../src/core/options';
import { DEFAULT_GATED_KERNELS, LAYER_OUTPUT_KERNELS } from '../../src/filter';
import { decodeImage, decodeImageAsync, FgvisImageError, FgvisModelFileError, fileIOHandler, loadModelFromDisk } from '../../src/node';
import { sniffImageFormat } from '../../src/node/read-image';
import { describeEachBackend, useBackend } from '../backends';
import { writeTinyClassifier } from '../cli/fixtures';
import { crc32, encodePngSpec, exifTiff, withExif, type PngSpec } from '../node/image-fixtures';
import { expectNoLeak, expectRestored, isFgvisError, reportCounts, snapshot, uniform, values } from './helpers';

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
  fc.record({ gatedKernels: fc.subarray([...DEFAULT_GATED_KERNELS]) }),
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
    ['gatedKernels', { gatedKernels: ['relu'] }],
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
            const hooked = options.gatedKernels ?? DEFAULT_GATED_KERNELS;
            const expected = options.defense === false ? 0 : built.kernels.filter((k) => hooked.includes(k)).length;
            // Layer outputs (convolutions, adds, pooling) in the list are gated too, where the model has them.
            if (options.defense !== false && hooked.some((k) => LAYER_OUTPUT_KERNELS.includes(k))) {
              expect(r.gatedOutputs, `filtered (${built.kernels.join(',')})`).toBeGreaterThanOrEqual(expected);
            } else {
              expect(r.gatedOutputs, `filtered (${built.kernels.join(',')})`).toBe(expected);
            }
            expect(r.warnings.some((w) => /no gated kernel to filter/.test(w))).toBe(options.defense !== false && r.gatedOutputs === 0);
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
    const keys = ['game', 'lambda', 'steps', 'learningRate', 'optimizer', 'defense', 'activations', 'reference', 'blurSigma', 'classTerm', 'parameterization', 'scores', 'outputNode', 'earlyStop', 'backoff', 'onStep', 'signal', 'seed', 'readEvery', 'autoLambda', 'gatedKernels'];
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

// ---------------------------------------------------------------------------
// Files from strangers (issue #15): mutated image bytes and mutated model.json manifests.
//
// Invariant: a decoded image within the pixel limit, a loaded model, or a clear
// FgvisImageError / FgvisModelFileError (one line, naming the source) - never
// another error, a hang (every case is timed) or unbounded memory (the pixel
// limit is 1 megapixel here; resident memory is watched), and no tensor or
// variable left behind by a failed model load.

const FILE_RUNS = Number(process.env.FGVIS_FUZZ_FILE_RUNS ?? 500);
const IMAGES = fileURLToPath(new URL('../fixtures/images/', import.meta.url));

/** Valid files of every decodable kind: the seeds that the mutations start from. */
function imageSeeds(): { name: string; bytes: Uint8Array }[] {
  const png = (spec: Omit<PngSpec, 'samples' | 'width' | 'height'>, w = 9, h = 6) => {
    const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[spec.colorType];
    const max = spec.colorType === 3 ? 3 : 2 ** spec.bitDepth - 1;
    return encodePngSpec({ ...spec, width: w, height: h, samples: Array.from({ length: w * h * channels }, (_, i) => (i * 7919) % (max + 1)) });
  };
  const jpg = (f: string) => new Uint8Array(readFileSync(join(IMAGES, f)));
  return [
    { name: 'rgb8.png', bytes: png({ colorType: 2, bitDepth: 8 }) },
    { name: 'rgba16-interlaced.png', bytes: png({ colorType: 6, bitDepth: 16, interlace: true }) },
    { name: 'palette2-trns.png', bytes: png({ colorType: 3, bitDepth: 2, palette: [[1, 2, 3], [40, 50, 60], [200, 0, 9], [9, 9, 9]], transparency: [0, 255, 128, 7] }) },
    { name: 'grey1-exif.png', bytes: png({ colorType: 0, bitDepth: 1, chunks: [['eXIf', exifTiff(6)]] }) },
    { name: 'grey-alpha8-interlaced.png', bytes: png({ colorType: 4, bitDepth: 8, interlace: true }) },
    { name: 'baseline-420.jpg', bytes: jpg('baseline-420.jpg') },
    { name: 'progressive.jpg', bytes: jpg('progressive.jpg') },
    { name: 'grey.jpg', bytes: jpg('grey.jpg') },
    { name: 'cmyk.jpg', bytes: jpg('cmyk.jpg') },
    { name: 'restart.jpg', bytes: jpg('restart.jpg') },
    { name: 'exif8.jpg', bytes: withExif(jpg('baseline-444.jpg'), 8, true) },
    { name: 'lossy.webp', bytes: jpg('lossy.webp') },
    { name: 'lossless.webp', bytes: jpg('lossless.webp') },
    { name: 'alpha.webp', bytes: jpg('alpha.webp') },
  ];
}

/** Rewrite every PNG chunk's CRC, so that mutations inside chunks reach the decoder instead of its CRC check. */
function fixPngCrcs(b: Uint8Array): Uint8Array {
  const out = Buffer.from(b);
  for (let o = 8; o + 12 <= out.length; ) {
    const len = out.readUInt32BE(o);
    if (len > out.length - o - 12) break;
    out.writeUInt32BE(crc32(out.subarray(o + 4, o + 8 + len)), o + 8 + len);
    o += 12 + len;
  }
  return out;
}

/** Offsets of a JPEG's marker segments (marker byte at `o + 1`). */
function jpegSegments(b: Uint8Array): number[] {
  const found: number[] = [];
  for (let o = 2; o + 3 < b.length; o++) if (b[o] === 0xff && b[o + 1]! >= 0xc0 && b[o + 1]! !== 0xff && !(b[o + 1]! >= 0xd0 && b[o + 1]! <= 0xd9)) found.push(o);
  return found;
}

type Mutation =
  | { kind: 'flip'; at: number[]; xor: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'header'; field: number; value: number }
  | { kind: 'segment'; which: number; at: number; value: number }
  | { kind: 'repeat'; from: number; length: number; times: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 64 }) }),
  // A header field set to an arbitrary value: sizes, bit depth, colour type, interlacing, frame type, components.
  fc.record({ kind: fc.constant('header' as const), field: fc.nat(), value: fc.oneof(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 0xffff, 0x7fffffff, 0xffffffff)) }),
  // One byte of one chunk or segment (its length, its type, its body) set to a value.
  fc.record({ kind: fc.constant('segment' as const), which: fc.nat(), at: fc.integer({ min: 0, max: 24 }), value: fc.integer({ min: 0, max: 255 }) }),
  // A stretch of the file repeated (many chunks, many scans).
  fc.record({ kind: fc.constant('repeat' as const), from: fc.nat(), length: fc.integer({ min: 1, max: 400 }), times: fc.integer({ min: 2, max: 200 }) }),
);

function mutate(seed: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Buffer.from(seed);
  const format = sniffImageFormat(b);
  for (const m of mutations) {
    if (b.length === 0) break;
    if (m.kind === 'flip') for (const at of m.at) b[at % b.length]! ^= m.xor;
    else if (m.kind === 'truncate') b = b.subarray(0, m.at % (b.length + 1));
    else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, m.at % b.length), Buffer.from(m.bytes), b.subarray(m.at % b.length)]);
    else if (m.kind === 'repeat') {
      const from = m.from % b.length;
      const piece = b.subarray(from, from + m.length);
      b = Buffer.concat([b.subarray(0, from), ...Array.from({ length: m.times }, () => piece), b.subarray(from)]);
    } else if (m.kind === 'header') {
      const put = (o: number, bytes: number) => {
        if (o + bytes <= b.length) b.writeUIntBE(m.value % 2 ** (8 * bytes), o, bytes);
      };
      if (format === 'png') [() => put(16, 4), () => put(20, 4), () => put(24, 1), () => put(25, 1), () => put(28, 1)][m.field % 5]!();
      else if (format === 'jpeg') {
        const sof = jpegSegments(b).find((o) => b[o + 1]! >= 0xc0 && b[o + 1]! <= 0xcf && b[o + 1] !== 0xc4 && b[o + 1] !== 0xc8 && b[o + 1] !== 0xcc);
        if (sof !== undefined) [() => put(sof + 5, 2), () => put(sof + 7, 2), () => put(sof + 4, 1), () => put(sof + 9, 1), () => put(sof + 1, 1), () => put(sof + 11, 1)][m.field % 6]!();
      } else if (format === 'webp') {
        const le = (o: number, bytes: number) => {
          if (o + bytes <= b.length) b.writeUIntLE(m.value % 2 ** (8 * bytes), o, bytes);
        };
        [() => le(24, 3), () => le(27, 3), () => le(20, 1), () => le(16, 4), () => le(26, 2), () => le(28, 2)][m.field % 6]!();
      }
    } else {
      const starts = format === 'jpeg' ? jpegSegments(b) : format === 'png' ? pngChunkStarts(b) : [12, 20, 30];
      if (starts.length > 0) {
        const o = starts[m.which % starts.length]! + m.at;
        if (o < b.length) b[o] = m.value;
      }
    }
    if (format === 'png' && m.kind !== 'flip') b = Buffer.from(fixPngCrcs(b));
  }
  return b;
}

function pngChunkStarts(b: Uint8Array): number[] {
  const starts: number[] = [];
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let o = 8; o + 12 <= b.length; ) {
    starts.push(o);
    const len = v.readUInt32BE(o);
    if (len > b.length - o - 12) break;
    o += 12 + len;
  }
  return starts;
}

const IMAGE_CODES = ['unsupported', 'corrupt', 'too-large'];

describe('fuzz: files from strangers', () => {
  it(`mutated PNG, JPEG and WebP bytes: an image within the limit or a clear FgvisImageError (${FILE_RUNS} runs, seed ${SEED})`, async () => {
    const seeds = imageSeeds();
    const maxPixels = 2 ** 20;
    const rssStart = process.memoryUsage().rss;
    let rssPeak = rssStart;
    let slowest = 0;
    const outcomes: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: seeds.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), async (s, mutations) => {
        const bytes = mutate(seeds[s]!.bytes, mutations);
        const t = performance.now();
        let key: string;
        try {
          const im = await decodeImageAsync(bytes, 'fuzz', { maxPixels });
          expect(im.width * im.height).toBeLessThanOrEqual(maxPixels);
          expect(im.width).toBeGreaterThan(0);
          expect(im.data).toBeInstanceOf(Uint8ClampedArray);
          expect(im.data.length).toBe(im.width * im.height * 4);
          key = 'decoded';
        } catch (e) {
          if (!(e instanceof FgvisImageError)) throw new Error(`not an FgvisImageError from ${seeds[s]!.name}: ${(e as Error)?.stack ?? String(e)}`);
          expect(IMAGE_CODES).toContain(e.code);
          expect(e.message.startsWith('Error in decodeImageAsync: "fuzz" ')).toBe(true);
          expect(e.message).not.toMatch(/[\n\r]/);
          key = e.code;
        }
        // The synchronous decoder agrees on PNG and JPEG (decoding is deterministic: no uninitialised memory).
        if (sniffImageFormat(bytes) !== 'webp') {
          let again: string;
          try {
            decodeImage(bytes, 'fuzz', { maxPixels });
            again = 'decoded';
          } catch (e) {
            if (!(e instanceof FgvisImageError)) throw new Error(`decodeImage: not an FgvisImageError: ${(e as Error)?.stack ?? String(e)}`);
            again = e.code;
          }
          expect(again, 'decodeImage and decodeImageAsync disagree').toBe(key);
        }
        const ms = performance.now() - t;
        slowest = Math.max(slowest, ms);
        expect(ms, `a slow case (${seeds[s]!.name}, ${JSON.stringify(mutations)})`).toBeLessThan(Number(process.env.FGVIS_FUZZ_SLOW_MS ?? 5000));
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
        outcomes[key] = (outcomes[key] ?? 0) + 1;
      }),
      { numRuns: FILE_RUNS, seed: SEED, endOnFailure: true },
    );
    console.log(
      `[fuzz] images: ${JSON.stringify(outcomes)}; slowest case ${slowest.toFixed(0)} ms; resident memory +${((rssPeak - rssStart) / 2 ** 20).toFixed(0)} MB at most`,
    );
    expect(outcomes.decoded).toBeGreaterThan(0);
    expect(rssPeak - rssStart).toBeLessThan(1024 * 2 ** 20);
  });

  it(`mutated model.json manifests: a model or a clear FgvisModelFileError naming the file, nothing left behind (${Math.ceil(FILE_RUNS / 3)} runs)`, async () => {
    await useBackend('cpu');
    const root = mkdtempSync(join(tmpdir(), 'fgvis-fuzz-models-'));
    try {
      const graphFile = writeTinyClassifier(join(root, 'graph-seed'));
      const layersFile = join(root, 'layers-seed', 'model.json');
      const seedModel = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [4], units: 3, activation: 'relu' }), tfl.layers.dense({ units: 2 })] });
      await seedModel.save(fileIOHandler(layersFile));
      seedModel.dispose();
      const seedsJson = [graphFile, layersFile].map((f) => ({ dir: join(f, '..'), json: JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown> }));
      const anyDim = fc.oneof(fc.integer({ min: -3, max: 12 }), fc.constantFrom(1e9, 2 ** 53, 0.5, -0, '3', null, 1e300));
      const edit = fc.oneof(
        fc.record({ kind: fc.constant('shape' as const), w: fc.nat(), shape: fc.array(anyDim, { maxLength: 10 }) }),
        fc.record({ kind: fc.constant('dtype' as const), w: fc.nat(), dtype: fc.constantFrom('float32', 'int32', 'bool', 'string', 'complex64', 'float64', 'uint8', '', 7) }),
        fc.record({ kind: fc.constant('quantization' as const), w: fc.nat(), q: fc.oneof(fc.constant(null), fc.record({ dtype: fc.constantFrom('uint8', 'uint16', 'float16', 'int4'), scale: fc.double(), min: fc.double() }, { requiredKeys: ['dtype'] })) }),
        fc.record({ kind: fc.constant('path' as const), path: fc.constantFrom('../outside.bin', '/etc/passwd', '', 'missing.bin', 'sub/../weights.bin', '..', '.', 'a\u0000b', 42, null) }),
        fc.record({ kind: fc.constant('name' as const), w: fc.nat(), name: fc.oneof(fc.string({ maxLength: 8 }), fc.constant(undefined)) }),
        fc.record({ kind: fc.constant('drop' as const), w: fc.nat() }),
        fc.record({ kind: fc.constant('manifest' as const), value: fc.jsonValue({ maxDepth: 3 }) }),
        fc.record({ kind: fc.constant('bytes' as const), delta: fc.integer({ min: -64, max: 64 }) }),
        fc.record({ kind: fc.constant('topology' as const), value: fc.jsonValue({ maxDepth: 2 }) }),
      );
      let loaded = 0;
      let refused = 0;
      let n = 0;
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: 1 }), fc.array(edit, { minLength: 1, maxLength: 3 }), async (which, edits) => {
          const seed = seedsJson[which]!;
          const dir = join(root, `case${n++}`);
          mkdirSync(dir);
          const json = structuredClone(seed.json) as { weightsManifest: { paths: unknown[]; weights: Record<string, unknown>[] }[]; modelTopology: unknown };
          const shardName = json.weightsManifest[0]!.paths[0] as string;
          let shard = readFileSync(join(seed.dir, shardName));
          for (const e of edits) {
            const first: unknown = Array.isArray(json.weightsManifest) ? json.weightsManifest[0] : undefined;
            const group = first !== null && typeof first === 'object' && !Array.isArray(first) ? (first as (typeof json.weightsManifest)[0]) : undefined;
            const weights = (Array.isArray(group?.weights) ? group.weights : []).filter((x) => x !== null && typeof x === 'object');
            const w = 'w' in e && weights.length > 0 ? weights[e.w % weights.length] : undefined;
            if (e.kind === 'shape' && w) w.shape = e.shape;
            else if (e.kind === 'dtype' && w) w.dtype = e.dtype;
            else if (e.kind === 'quantization' && w) w.quantization = e.q;
            else if (e.kind === 'name' && w) w.name = e.name;
            else if (e.kind === 'drop' && weights.length > 0) weights.splice(e.w % weights.length, 1);
            else if (e.kind === 'path' && group) group.paths = [e.path];
            else if (e.kind === 'manifest') (json as { weightsManifest: unknown }).weightsManifest = e.value;
            else if (e.kind === 'topology') json.modelTopology = e.value;
            else if (e.kind === 'bytes') shard = e.delta < 0 ? shard.subarray(0, Math.max(0, shard.length + e.delta)) : Buffer.concat([shard, Buffer.alloc(e.delta)]);
          }
          writeFileSync(join(dir, shardName), shard);
          writeFileSync(join(root, 'outside.bin'), shard);
          const file = join(dir, 'model.json');
          writeFileSync(file, JSON.stringify(json));
          const before = snapshot();
          const variables = Object.keys(tf.engine().state.registeredVariables).length;
          const t = performance.now();
          try {
            const model = await loadModelFromDisk(file, { maxWeightBytes: 2 ** 24 });
            model.dispose();
            loaded++;
          } catch (e) {
            if (!(e instanceof FgvisModelFileError || e instanceof FgvisArgumentError)) {
              throw new Error(`not a model-file error: ${(e as Error)?.stack ?? String(e)} (edits ${JSON.stringify(edits)})`);
            }
            expect((e as Error).message).toContain(JSON.stringify(file));
            expect((e as Error).message).not.toMatch(/[\n\r]/);
            refused++;
          } finally {
            expect(performance.now() - t).toBeLessThan(5000);
            expectNoLeak(before, `edits ${JSON.stringify(edits)}`);
            expect(Object.keys(tf.engine().state.registeredVariables).length, 'variables left behind').toBe(variables);
            rmSync(dir, { recursive: true, force: true });
          }
        }),
        { numRuns: Math.ceil(FILE_RUNS / 3), seed: SEED, endOnFailure: true },
      );
      console.log(`[fuzz] model files: ${loaded} loaded, ${refused} refused`);
      expect(loaded).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
