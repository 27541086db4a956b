/**
 * The known-evidence benchmark: FGVis (its defaults, undefended, the deletion
 * game, every reference) and every baseline in BASELINES, on images of
 * shapes.ts whose decisive pixels are known, explained on one trained model
 * ("A") and read by the other ("B").
 *
 * Per image and method:
 * - `energy`: saliency mass inside the evidence region / total
 *   (`energyInRegion`); `energyNear` the same with the region dilated by 2 px
 *   (the shape's outline is evidence too);
 * - `pointing`: `pointingGame` with tolerance 0 (every pixel holding the
 *   map's maximum must lie inside the region; a tie of many maxima, e.g. a
 *   mask saturated at 1, hits only if all of them are inside), and
 *   `pointingFraction` = maxima inside / maxima;
 * - `keptA@k`, `transferB@k` (every method, the same construction): keep the
 *   k = region-area pixels with the highest saliency (all channels; ties
 *   broken by a seeded random order), replace every other pixel by a
 *   *substrate* that no method uses or optimises against: a fresh background
 *   of the generator's own distribution (level or gradient, grating, noise;
 *   no clutter, no shape; `substrate()` in shapes.ts, its own seed per image).
 *   `keptA@k` = A's score of the target on that image / A's score on the
 *   image; `transferB@k` = the same for model B;
 * - FGVis runs also report the native measures of their own explanation
 *   `e = m * x + (1 - m) * r`: `keptA` = A(e) / A(x) (for the deletion game:
 *   the score left after deleting, lower = better) and `transferB` =
 *   B(e) / B(x), the mask mean, the steps and the lambda.
 * - the least-likely-class test (`adversarialEvidenceTest`, lambda 1, fixed
 *   step count, no early stopping) per reference: the defended and the
 *   undefended explanation of the class A finds least likely, each read by
 *   A and by B, beside both models' scores on the image and on the empty
 *   (all-reference) image.
 * The target of every explanation is the image's true class.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { EXPLAIN_DEFAULTS, explain, makeReference, type Attribution, type Explanation, type ExplainOptions, type Reference } from '../../../src';
import { BASELINES } from '../../../src/baselines';
import { adversarialEvidenceTest, energyInRegion, pointingGame } from '../../../src/metrics';
import { seededRandom } from '../../../src/util/random';
import { loadShapesModel, MODEL_NAMES, type FixtureName, type ModelName } from './models';
import { CLASSES, dilate, generate, regionArea, SIZE, substrate, type KnownEvidenceImage, type SplitName } from './shapes';

// ---------------------------------------------------------------------------
// Methods

export type ReferenceName = 'zero' | 'mean' | 'blur' | 'noise';
export const REFERENCES: readonly ReferenceName[] = ['zero', 'mean', 'blur', 'noise'];

export type BaselineKey = Extract<keyof typeof BASELINES, string>;
/**
 * Baselines with one option changed from their defaults, for fairness on
 * these images. Meaningful Perturbation's default deletion game never leaves
 * its start on these models: at the start (mask 1) the L1 term's gradient per
 * low-resolution cell (5.02 * 64 / 4096 = 0.078) exceeds the class term's
 * (p (1 - p) ~ 0.02 for the probability, 1 - p for the log-probability, both
 * saturated at p ~ 0.98), so every step pushes the mask up into its clip at 1
 * and the saliency is all zero; its preservation game works (the L1 term
 * pulls the mask down until the score resists). Occlusion's and Integrated
 * Gradients' default reference is black, as FGVis's.
 */
export type BaselineVariant = 'meaningfulPerturbation:preservation' | 'occlusion:blur' | 'integratedGradients:blur';
export const BASELINE_VARIANTS: readonly BaselineVariant[] = ['meaningfulPerturbation:preservation', 'occlusion:blur', 'integratedGradients:blur'];
export type MethodKey =
  | 'fgvis'
  | 'fgvisUndefended'
  | 'fgvisDeletion'
  | `fgvisRef:${ReferenceName}`
  | `fgvisDeletionRef:${ReferenceName}`
  | BaselineKey
  | BaselineVariant;

/**
 * Every method. `fgvis` is explain() with its defaults (whatever they are when
 * the benchmark runs); `fgvisRef:<r>` the defaults with `reference: r`, and
 * `fgvisDeletionRef:<r>` the deletion game with `reference: r` (the rows of
 * the default reference are not run twice: they are `fgvis`'s and
 * `fgvisDeletion`'s results).
 */
export const ALL_METHODS: readonly MethodKey[] = [
  'fgvis',
  'fgvisUndefended',
  'fgvisDeletion',
  ...REFERENCES.map((r) => `fgvisRef:${r}` as const),
  ...REFERENCES.map((r) => `fgvisDeletionRef:${r}` as const),
  ...(Object.keys(BASELINES) as BaselineKey[]),
  ...BASELINE_VARIANTS,
];

export function methodLabel(key: MethodKey): string {
  switch (key) {
    case 'fgvis':
      return `FGVis defaults (reference ${String(EXPLAIN_DEFAULTS.reference)})`;
    case 'fgvisUndefended':
      return 'FGVis defense off';
    case 'fgvisDeletion':
      return 'FGVis deletion game';
    case 'gradient':
      return 'Gradient';
    case 'smoothGrad':
      return 'SmoothGrad';
    case 'integratedGradients':
      return 'Integrated Gradients';
    case 'gradCam':
      return 'Grad-CAM';
    case 'occlusion':
      return 'Occlusion';
    case 'meaningfulPerturbation':
      return 'Meaningful Perturbation';
    case 'meaningfulPerturbation:preservation':
      return 'Meaningful Perturbation, preservation game';
    case 'occlusion:blur':
      return "Occlusion, reference 'blur'";
    case 'integratedGradients:blur':
      return "Integrated Gradients, baseline 'blur'";
    default:
      if (key.startsWith('fgvisDeletionRef:')) return `FGVis deletion, reference '${key.slice('fgvisDeletionRef:'.length)}'`;
      return `FGVis reference '${key.slice('fgvisRef:'.length)}'`;
  }
}

const isFgvis = (k: MethodKey) => k.startsWith('fgvis');

/**
 * The seed of everything random (the 'noise' reference). Not 0: tfjs's random
 * ops (`tf.randomNormal(..., seed)`, used by fgvis's makeReference) treat a
 * seed of 0 as no seed at all and draw a different noise on every call.
 */
export const SEED = 1;

/** `leastLikelyTarget: 'absent'`: the classes A scores below this on the empty image. */
export const ABSENT_EMPTY_MAX = 0.2;

/** The explain() options of an FGVis method (over `base`, the settings' overrides). */
function fgvisOptions(key: MethodKey, base: ExplainOptions): ExplainOptions {
  if (key === 'fgvisUndefended') return { ...base, defense: false };
  if (key === 'fgvisDeletion') return { ...base, game: 'deletion' };
  if (key.startsWith('fgvisRef:')) return { ...base, reference: key.slice('fgvisRef:'.length) as ReferenceName, seed: SEED };
  if (key.startsWith('fgvisDeletionRef:')) {
    return { ...base, game: 'deletion', reference: key.slice('fgvisDeletionRef:'.length) as ReferenceName, seed: SEED };
  }
  return { ...base, seed: SEED };
}

// ---------------------------------------------------------------------------
// Settings

export interface Settings {
  name: 'full' | 'quick';
  /** explain() overrides for every FGVis row (empty: the library's defaults). */
  fgvis: ExplainOptions;
  smoothGrad: { samples?: number; batchSize?: number };
  integratedGradients: { steps?: number; batchSize?: number };
  meaningfulPerturbation: { steps?: number };
  /** The least-likely-class test: on the first `images` images, `steps` steps, these references. */
  leastLikely: { images: number; steps: number; references: readonly ReferenceName[] };
}

export const FULL: Settings = {
  name: 'full',
  fgvis: {},
  smoothGrad: { batchSize: 5 },
  integratedGradients: { batchSize: 8 },
  meaningfulPerturbation: {},
  leastLikely: { images: 12, steps: 300, references: REFERENCES },
};

export const QUICK: Settings = {
  name: 'quick',
  fgvis: { steps: 40, earlyStop: false },
  smoothGrad: { samples: 4, batchSize: 4 },
  integratedGradients: { steps: 4, batchSize: 4 },
  meaningfulPerturbation: { steps: 20 },
  leastLikely: { images: 1, steps: 30, references: ['zero', 'blur'] },
};

export interface BenchmarkOptions {
  split: SplitName;
  /** Number of images (indices start .. start + images - 1). */
  images: number;
  start?: number;
  methods?: readonly MethodKey[];
  /**
   * Which model explains which image: `alternate` (a on even indices, b on
   * odd), `a`, `b`, `both` (each image twice), or `c` (the smooth-nonlinearity
   * model c on every image, read by model b; models.ts).
   */
  roles?: 'alternate' | 'a' | 'b' | 'both' | 'c';
  /**
   * explain()'s `gatedKernels` for every FGVis row and the least-likely test
   * (default: explain()'s default list).
   */
  gatedKernels?: readonly string[];
  /** Override the least-likely test's references. */
  leastLikelyReferences?: readonly ReferenceName[];
  /**
   * The least-likely test's target: `'least'` (default) the class A finds
   * least likely on the image (`adversarialEvidenceTest`); `'absent'` the
   * least likely among the classes that A gives less than
   * {@link ABSENT_EMPTY_MAX} on the empty (all-reference) image (the least
   * likely overall when there is none), explained the same way (explain(),
   * preservation, lambda 1, the same steps and seed, defended and
   * undefended). For a model that reads the empty image as some class (model
   * c reads black and the mean colour as `ring`, 0.6-0.7), `'least'` often
   * picks that class, which the empty mask already reaches: no evidence
   * needs inventing, and the test measures nothing.
   */
  leastLikelyTarget?: 'least' | 'absent';
  settings?: Settings;
  /** Override the least-likely test's image count (0 = skip it). */
  leastLikelyImages?: number;
  /** Keep the saliency maps in the result (for figures). */
  keepSaliency?: boolean;
  /** Preloaded models (otherwise loaded from test/fixtures/shapes and disposed at the end); `c` only for roles `c`. */
  models?: Record<ModelName, LayersModel> & { c?: LayersModel };
  log?: (line: string) => void;
}

// ---------------------------------------------------------------------------
// Results

export interface MethodRow {
  method: MethodKey;
  seconds: number;
  energy: number;
  energyNear: number;
  pointing: boolean;
  pointingFraction: number;
  keptAtK: number;
  transferAtK: number;
  /** FGVis only: the native explanation. */
  keptA?: number;
  transferB?: number;
  maskMean?: number;
  steps?: number;
  lambda?: number;
  /** Tensors left behind by the method and its measures (must be 0). */
  leaked: number;
  error?: string;
  saliency?: number[];
}

export interface ImageRow {
  index: number;
  label: number;
  className: string;
  explainer: FixtureName;
  reader: FixtureName;
  regionArea: number;
  /** Target (true class) scores on the image, by A and B, and on the substrate alone. */
  scoreA: number;
  scoreB: number;
  substrateA: number;
  substrateB: number;
  predictedA: number;
  predictedB: number;
  methods: MethodRow[];
}

/** One model's scores of the least-likely class: on the image, the all-reference image, and the two explanations. */
export type LeastLikelyScores = { image: number; empty: number; defended: number; undefended: number };

export interface LeastLikelyRow {
  index: number;
  explainer: FixtureName;
  reader: FixtureName;
  reference: ReferenceName;
  target: number;
  className: string;
  steps: number;
  /** Scores of the least-likely class (A's) read by A and by B. */
  a: LeastLikelyScores;
  b: LeastLikelyScores;
  maskMean: { defended: number; undefended: number };
  filtered: number;
  seconds: number;
  leaked: number;
  error?: string;
}

export interface MethodSummary {
  method: MethodKey;
  label: string;
  n: number;
  errors: number;
  energy: number;
  energyNear: number;
  pointing: number;
  pointingFraction: number;
  keptAtK: number;
  transferAtK: number;
  keptA: number | null;
  transferB: number | null;
  maskMean: number | null;
  steps: number | null;
  seconds: number;
  /** Mean rank (1 = best) over methods, per image, of energy, pointing fraction, kept@k and transfer@k, and their mean. */
  rank: { energy: number; pointing: number; keptAtK: number; transferAtK: number; overall: number };
}

export interface LeastLikelySummary {
  reference: ReferenceName;
  n: number;
  a: LeastLikelyScores;
  b: LeastLikelyScores;
  maskMean: { defended: number; undefended: number };
  /** Share of runs where the defended explanation's A score exceeds 0.5. */
  defendedAbove05: number;
  undefendedAbove05: number;
}

export interface BenchmarkReport {
  split: SplitName;
  start: number;
  images: number;
  roles: string;
  settings: Settings;
  backend: string;
  explainDefaults: { reference: unknown; steps: number; defense: boolean };
  /** The `gatedKernels` given to explain() (null: its default list). */
  gatedKernels: readonly string[] | null;
  /** The least-likely test's target rule. */
  leastLikelyTarget: 'least' | 'absent';
  rows: ImageRow[];
  leastLikely: LeastLikelyRow[];
  summary: MethodSummary[];
  leastLikelySummary: LeastLikelySummary[];
  accuracy: { a: number; b: number; c?: number };
  tensors: { before: number; after: number };
  seconds: number;
}

// ---------------------------------------------------------------------------
// Helpers

function toTensor(im: { pixels: Float32Array }): tf.Tensor4D {
  return tf.tensor4d(im.pixels, [1, SIZE, SIZE, 3]);
}

/** Class probabilities of a model on a `[1,H,W,3]` tensor. */
async function probs(model: LayersModel, x: tf.Tensor): Promise<Float32Array> {
  const p = tf.tidy(() => model.predict(tf.reshape(x, [1, SIZE, SIZE, 3])) as tf.Tensor);
  try {
    return (await p.data()) as Float32Array;
  } finally {
    p.dispose();
  }
}

async function probsOfPixels(model: LayersModel, pixels: Float32Array): Promise<Float32Array> {
  const x = tf.tensor4d(pixels, [1, SIZE, SIZE, 3]);
  try {
    return await probs(model, x);
  } finally {
    x.dispose();
  }
}

const argmax = (v: ArrayLike<number>) => {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[b]!) b = i;
  return b;
};

/**
 * Keep the `k` pixels of `image` with the highest saliency (ties in a seeded
 * random order), the rest from `fill`. Returns new pixels `[H,W,3]`.
 */
export function keepTopK(image: Float32Array, saliency: ArrayLike<number>, k: number, fill: Float32Array, seed: number): Float32Array {
  const n = saliency.length;
  const rand = seededRandom(seed);
  const jitter = Array.from({ length: n }, () => rand());
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => saliency[j]! - saliency[i]! || jitter[j]! - jitter[i]!);
  const out = Float32Array.from(fill);
  for (let q = 0; q < Math.min(k, n); q++) {
    const p = order[q]!;
    out[p * 3] = image[p * 3]!;
    out[p * 3 + 1] = image[p * 3 + 1]!;
    out[p * 3 + 2] = image[p * 3 + 2]!;
  }
  return out;
}

function regionTensor(region: Uint8Array): tf.Tensor2D {
  return tf.tensor2d(region, [SIZE, SIZE], 'int32');
}

const mean = (v: readonly number[]) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN);

/** Mean rank (1 = best, higher value better, ties share) of each entry. */
function ranks(values: readonly number[]): number[] {
  const idx = values.map((v, i) => [v, i] as const).filter(([v]) => Number.isFinite(v));
  idx.sort((a, b) => b[0] - a[0]);
  const out = new Array<number>(values.length).fill(NaN);
  let k = 0;
  while (k < idx.length) {
    let j = k;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[k]![0]) j++;
    for (let q = k; q <= j; q++) out[idx[q]![1]] = (k + j) / 2 + 1;
    k = j + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Running

async function runMethod(key: MethodKey, s: Settings, model: LayersModel, x: tf.Tensor4D, target: number): Promise<Attribution & { fgvis?: Explanation }> {
  if (isFgvis(key)) {
    const e = await explain(model, x, target, fgvisOptions(key, s.fgvis));
    return Object.assign(e, { fgvis: e });
  }
  switch (key as BaselineKey | BaselineVariant) {
    case 'gradient':
      return BASELINES.gradient(model, x, target);
    case 'smoothGrad':
      return BASELINES.smoothGrad(model, x, target, s.smoothGrad);
    case 'integratedGradients':
      return BASELINES.integratedGradients(model, x, target, s.integratedGradients);
    case 'gradCam':
      return BASELINES.gradCam(model, x, target);
    case 'occlusion':
      return BASELINES.occlusion(model, x, target);
    case 'meaningfulPerturbation':
      return BASELINES.meaningfulPerturbation(model, x, target, s.meaningfulPerturbation);
    case 'meaningfulPerturbation:preservation':
      return BASELINES.meaningfulPerturbation(model, x, target, { ...s.meaningfulPerturbation, game: 'preservation' });
    case 'occlusion:blur':
      return BASELINES.occlusion(model, x, target, { reference: 'blur' });
    case 'integratedGradients:blur':
      return BASELINES.integratedGradients(model, x, target, { ...s.integratedGradients, baseline: 'blur' });
  }
  throw new Error(`unknown method ${key}`);
}

async function measureMethod(
  key: MethodKey,
  s: Settings,
  im: KnownEvidenceImage,
  index: number,
  split: SplitName,
  x: tf.Tensor4D,
  A: LayersModel,
  B: LayersModel,
  img: { scoreA: number; scoreB: number },
  regions: { exact: tf.Tensor2D; near: tf.Tensor2D },
  fill: Float32Array,
  keep: boolean,
): Promise<MethodRow> {
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const row: MethodRow = {
    method: key, seconds: 0, energy: NaN, energyNear: NaN, pointing: false, pointingFraction: NaN, keptAtK: NaN, transferAtK: NaN, leaked: 0,
  };
  let a: (Attribution & { fgvis?: Explanation }) | null = null;
  try {
    a = await runMethod(key, s, A, x, im.label);
    row.seconds = (performance.now() - t0) / 1000;
    row.energy = await energyInRegion(a.saliency, regions.exact);
    row.energyNear = await energyInRegion(a.saliency, regions.near);
    const pg = await pointingGame(a.saliency, regions.exact, { tolerance: 0 });
    row.pointing = pg.hit;
    row.pointingFraction = pg.hits / pg.maxima;
    const sal = (await a.saliency.data()) as Float32Array;
    if (keep) row.saliency = Array.from(sal, (v) => Math.round(v * 1000) / 1000);
    const k = regionArea(im.region);
    const kept = keepTopK(im.pixels, sal, k, fill, 1000 + index);
    row.keptAtK = (await probsOfPixels(A, kept))[im.label]! / img.scoreA;
    row.transferAtK = (await probsOfPixels(B, kept))[im.label]! / img.scoreB;
    const e = a.fgvis;
    if (e) {
      row.keptA = e.scores.explanation / e.scores.image;
      row.transferB = (await probs(B, e.explanation))[im.label]! / img.scoreB;
      row.maskMean = e.maskMean;
      row.steps = e.steps;
      row.lambda = e.lambda;
    }
  } catch (err) {
    row.error = err instanceof Error ? err.message : String(err);
  } finally {
    a?.dispose();
  }
  row.leaked = tf.memory().numTensors - before;
  void split;
  return row;
}

async function leastLikely(
  index: number,
  x: tf.Tensor4D,
  A: LayersModel,
  B: LayersModel,
  names: { explainer: FixtureName; reader: FixtureName },
  reference: ReferenceName,
  steps: number,
  gated: { gatedKernels?: readonly string[] },
  mode: 'least' | 'absent' = 'least',
): Promise<LeastLikelyRow> {
  const before = tf.memory().numTensors;
  const t0 = performance.now();
  const row: LeastLikelyRow = {
    index, ...names, reference, target: -1, className: '?', steps,
    a: { image: NaN, empty: NaN, defended: NaN, undefended: NaN },
    b: { image: NaN, empty: NaN, defended: NaN, undefended: NaN },
    maskMean: { defended: NaN, undefended: NaN }, filtered: 0, seconds: 0, leaked: 0,
  };
  const o: ExplainOptions = { lambda: 1, steps, earlyStop: false, reference, seed: SEED, ...gated };
  let onA: LeastLikelyOnA | null = null;
  let empty: tf.Tensor4D | null = null;
  try {
    // The all-reference image: explain's reference with the same seed (the 'zero' reference is all zeros).
    empty = makeReference(x, reference as Reference, { blurSigma: EXPLAIN_DEFAULTS.blurSigma, seed: SEED }) ?? tf.zerosLike(x);
    onA = mode === 'absent' ? await absentClassOnA(A, x, empty, o) : await leastLikelyOnA(A, x, o);
    const c = onA.target;
    row.target = c;
    row.className = CLASSES[c]!;
    row.a = onA.a;
    row.b = {
      image: (await probs(B, x))[c]!,
      empty: (await probs(B, empty))[c]!,
      defended: (await probs(B, onA.defended))[c]!,
      undefended: (await probs(B, onA.undefended))[c]!,
    };
    row.maskMean = onA.maskMean;
    row.filtered = onA.filtered;
  } catch (err) {
    row.error = err instanceof Error ? err.message : String(err);
  } finally {
    onA?.dispose();
    empty?.dispose();
  }
  row.seconds = (performance.now() - t0) / 1000;
  row.leaked = tf.memory().numTensors - before;
  return row;
}

/** What the least-likely test made on the explaining model A: its target, A's scores, and the two explanations (owned: `dispose`). */
interface LeastLikelyOnA {
  target: number;
  a: LeastLikelyScores;
  maskMean: { defended: number; undefended: number };
  filtered: number;
  defended: tf.Tensor;
  undefended: tf.Tensor;
  dispose(): void;
}

/** `leastLikelyTarget: 'least'`: the library's adversarialEvidenceTest, which explains A's least likely class. */
async function leastLikelyOnA(A: LayersModel, x: tf.Tensor4D, o: ExplainOptions): Promise<LeastLikelyOnA> {
  const res = await adversarialEvidenceTest(A, x, { explain: o, keepExplanations: true });
  return {
    target: res.target,
    a: { image: res.scores.image, empty: res.scores.reference, defended: res.scores.defended, undefended: res.scores.undefended },
    maskMean: { ...res.maskMean },
    filtered: res.filtered,
    defended: res.explanations!.defended.explanation,
    undefended: res.explanations!.undefended.explanation,
    dispose: () => res.dispose(),
  };
}

/** `leastLikelyTarget: 'absent'` (see {@link BenchmarkOptions.leastLikelyTarget}): A's least likely class among those the empty image does not give. */
async function absentClassOnA(A: LayersModel, x: tf.Tensor4D, empty: tf.Tensor4D, o: ExplainOptions): Promise<LeastLikelyOnA> {
  const pa = await probs(A, x);
  const pe = await probs(A, empty);
  let c = -1;
  for (let k = 0; k < pa.length; k++) if (pe[k]! < ABSENT_EMPTY_MAX && (c < 0 || pa[k]! < pa[c]!)) c = k;
  if (c < 0) c = Array.from(pa).indexOf(Math.min(...pa));
  const defended = await explain(A, x, c, { ...o, game: 'preservation', defense: true });
  let undefended: Explanation;
  try {
    undefended = await explain(A, x, c, { ...o, game: 'preservation', defense: false });
  } catch (err) {
    defended.dispose();
    throw err;
  }
  return {
    target: c,
    a: { image: pa[c]!, empty: pe[c]!, defended: defended.scores.explanation, undefended: undefended.scores.explanation },
    maskMean: { defended: defended.maskMean, undefended: undefended.maskMean },
    filtered: defended.gatedOutputs,
    defended: defended.explanation,
    undefended: undefended.explanation,
    dispose: () => {
      defended.dispose();
      undefended.dispose();
    },
  };
}

function summarise(rows: ImageRow[], methods: readonly MethodKey[]): MethodSummary[] {
  // Per image: ranks over the methods of each measure.
  const rankSums = new Map<MethodKey, { energy: number[]; pointing: number[]; keptAtK: number[]; transferAtK: number[] }>();
  for (const m of methods) rankSums.set(m, { energy: [], pointing: [], keptAtK: [], transferAtK: [] });
  for (const r of rows) {
    const present = methods.map((m) => r.methods.find((q) => q.method === m));
    for (const field of ['energy', 'pointingFraction', 'keptAtK', 'transferAtK'] as const) {
      const rk = ranks(present.map((q) => (q && !q.error ? q[field] : NaN)));
      methods.forEach((m, i) => {
        if (Number.isFinite(rk[i]!)) rankSums.get(m)![field === 'pointingFraction' ? 'pointing' : field].push(rk[i]!);
      });
    }
  }
  return methods.map((m) => {
    const all = rows.map((r) => r.methods.find((q) => q.method === m)).filter((q): q is MethodRow => q !== undefined);
    const ok = all.filter((q) => !q.error);
    const opt = (f: (q: MethodRow) => number | undefined) => {
      const v = ok.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
      return v.length ? mean(v) : null;
    };
    const rs = rankSums.get(m)!;
    const rank = { energy: mean(rs.energy), pointing: mean(rs.pointing), keptAtK: mean(rs.keptAtK), transferAtK: mean(rs.transferAtK), overall: NaN };
    rank.overall = mean([rank.energy, rank.pointing, rank.keptAtK, rank.transferAtK]);
    return {
      method: m,
      label: methodLabel(m),
      n: ok.length,
      errors: all.length - ok.length,
      energy: mean(ok.map((q) => q.energy)),
      energyNear: mean(ok.map((q) => q.energyNear)),
      pointing: mean(ok.map((q) => (q.pointing ? 1 : 0))),
      pointingFraction: mean(ok.map((q) => q.pointingFraction)),
      keptAtK: mean(ok.map((q) => q.keptAtK)),
      transferAtK: mean(ok.map((q) => q.transferAtK)),
      keptA: opt((q) => q.keptA),
      transferB: opt((q) => q.transferB),
      maskMean: opt((q) => q.maskMean),
      steps: opt((q) => q.steps),
      seconds: mean(all.map((q) => q.seconds)),
      rank,
    };
  });
}

function summariseLeastLikely(rows: LeastLikelyRow[]): LeastLikelySummary[] {
  const refs = [...new Set(rows.map((r) => r.reference))];
  return refs.map((reference) => {
    const ok = rows.filter((r) => r.reference === reference && !r.error);
    const m = (f: (r: LeastLikelyRow) => number) => mean(ok.map(f));
    return {
      reference,
      n: ok.length,
      a: { image: m((r) => r.a.image), empty: m((r) => r.a.empty), defended: m((r) => r.a.defended), undefended: m((r) => r.a.undefended) },
      b: { image: m((r) => r.b.image), empty: m((r) => r.b.empty), defended: m((r) => r.b.defended), undefended: m((r) => r.b.undefended) },
      maskMean: { defended: m((r) => r.maskMean.defended), undefended: m((r) => r.maskMean.undefended) },
      defendedAbove05: m((r) => (r.a.defended > 0.5 ? 1 : 0)),
      undefendedAbove05: m((r) => (r.a.undefended > 0.5 ? 1 : 0)),
    };
  });
}

/** Which model explains image `index`. */
function explainersFor(roles: BenchmarkOptions['roles'], index: number): FixtureName[] {
  if (roles === 'a' || roles === 'b' || roles === 'c') return [roles];
  if (roles === 'both') return [...MODEL_NAMES];
  return [index % 2 === 0 ? 'a' : 'b'];
}

/**
 * Run the benchmark on the active backend (the caller chooses it; the
 * scripts use wasm). Models are loaded from test/fixtures/shapes unless
 * given. Leaves `tf.memory().numTensors` as it found it (reported).
 */
export async function runKnownEvidence(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const base = options.settings ?? FULL;
  const gated = options.gatedKernels ? { gatedKernels: options.gatedKernels } : {};
  const s: Settings = {
    ...base,
    fgvis: { ...base.fgvis, ...gated },
    leastLikely: { ...base.leastLikely, ...(options.leastLikelyReferences ? { references: options.leastLikelyReferences } : {}) },
  };
  const start = options.start ?? 0;
  const methods = options.methods ?? ALL_METHODS;
  const roles = options.roles ?? 'alternate';
  const llImages = options.leastLikelyImages ?? s.leastLikely.images;
  const log = options.log ?? (() => {});
  const t0 = performance.now();
  const ownModels = !options.models;
  const before = tf.memory().numTensors;
  const models: Record<ModelName, LayersModel> & { c?: LayersModel } = options.models ?? { a: await loadShapesModel('a'), b: await loadShapesModel('b') };
  if (roles === 'c' && !models.c) {
    if (!ownModels) throw new Error("roles 'c' needs models.c");
    models.c = await loadShapesModel('c');
  }
  const modelOf = (n: FixtureName): LayersModel => models[n] ?? (() => { throw new Error(`model ${n} not loaded`); })();
  const rows: ImageRow[] = [];
  const ll: LeastLikelyRow[] = [];
  const correct = { a: 0, b: 0, c: 0 };
  // The default reference's rows are fgvis and fgvisDeletion themselves (same options, same result).
  const aliases = new Map<MethodKey, MethodKey>();
  if (typeof EXPLAIN_DEFAULTS.reference === 'string') {
    aliases.set(`fgvisRef:${EXPLAIN_DEFAULTS.reference as ReferenceName}`, 'fgvis');
    aliases.set(`fgvisDeletionRef:${EXPLAIN_DEFAULTS.reference as ReferenceName}`, 'fgvisDeletion');
  }
  try {
    for (let i = start; i < start + options.images; i++) {
      const im = generate(options.split, i);
      const fill = substrate(options.split, i);
      const x = toTensor(im);
      const exact = regionTensor(im.region);
      const near = regionTensor(dilate(im.region, 2));
      try {
        const pa = await probs(models.a, x);
        const pb = await probs(models.b, x);
        if (argmax(pa) === im.label) correct.a++;
        if (argmax(pb) === im.label) correct.b++;
        const pc = models.c ? await probs(models.c, x) : null;
        if (pc && argmax(pc) === im.label) correct.c++;
        const scoresOf: Record<FixtureName, Float32Array | null> = { a: pa, b: pb, c: pc };
        for (const explainer of explainersFor(roles, i)) {
          const reader: FixtureName = explainer === 'b' ? 'a' : 'b';
          const A = modelOf(explainer);
          const B = modelOf(reader);
          const pA = scoresOf[explainer]!;
          const pB = scoresOf[reader]!;
          const row: ImageRow = {
            index: i, label: im.label, className: CLASSES[im.label]!, explainer, reader, regionArea: regionArea(im.region),
            scoreA: pA[im.label]!, scoreB: pB[im.label]!,
            substrateA: (await probsOfPixels(A, fill))[im.label]!, substrateB: (await probsOfPixels(B, fill))[im.label]!,
            predictedA: argmax(pA), predictedB: argmax(pB), methods: [],
          };
          log(`image ${options.split}/${i} ${row.className} (area ${row.regionArea}) A=${explainer} ${row.scoreA.toFixed(3)} B=${reader} ${row.scoreB.toFixed(3)}`);
          for (const key of methods) {
            const alias = aliases.get(key);
            if (alias && methods.includes(alias)) continue;
            const r = await measureMethod(key, s, im, i, options.split, x, A, B, row, { exact, near }, fill, options.keepSaliency ?? false);
            row.methods.push(r);
            for (const [copy, of] of aliases) if (of === key && methods.includes(copy)) row.methods.push({ ...r, method: copy });
            const f = r.maskMean !== undefined ? ` keptA ${r.keptA!.toFixed(3)} transferB ${r.transferB!.toFixed(3)} mask ${r.maskMean.toFixed(3)} steps ${r.steps}` : '';
            log(
              `  ${methodLabel(key)}: ${r.seconds.toFixed(1)} s energy ${r.energy.toFixed(3)} pointing ${r.pointing ? 1 : 0} kept@k ${r.keptAtK.toFixed(3)} transfer@k ${r.transferAtK.toFixed(3)}${f}` +
                `${r.error ? ' ERROR ' + r.error : ''}${r.leaked ? ` LEAKED ${r.leaked}` : ''}`,
            );
          }
          rows.push(row);
          if (i - start < llImages) {
            for (const reference of s.leastLikely.references) {
              const r = await leastLikely(i, x, A, B, { explainer, reader }, reference, s.leastLikely.steps, gated, options.leastLikelyTarget ?? 'least');
              ll.push(r);
              log(
                `  least likely (${r.className}) ref ${reference}: A image ${r.a.image.toExponential(1)} empty ${r.a.empty.toFixed(3)} defended ${r.a.defended.toFixed(3)} undefended ${r.a.undefended.toFixed(3)} | ` +
                  `B empty ${r.b.empty.toFixed(3)} defended ${r.b.defended.toFixed(3)} undefended ${r.b.undefended.toFixed(3)} (${r.seconds.toFixed(1)} s)${r.error ? ' ERROR ' + r.error : ''}${r.leaked ? ` LEAKED ${r.leaked}` : ''}`,
              );
            }
          }
        }
      } finally {
        tf.dispose([x, exact, near]);
      }
    }
  } finally {
    if (ownModels) {
      models.a.dispose();
      models.b.dispose();
      models.c?.dispose();
    }
  }
  const after = tf.memory().numTensors;
  const used = methods.filter((m) => rows.some((r) => r.methods.some((q) => q.method === m)));
  return {
    split: options.split,
    start,
    images: options.images,
    roles,
    settings: s,
    backend: tf.getBackend(),
    explainDefaults: { reference: typeof EXPLAIN_DEFAULTS.reference === 'string' ? EXPLAIN_DEFAULTS.reference : 'tensor', steps: EXPLAIN_DEFAULTS.steps, defense: EXPLAIN_DEFAULTS.defense },
    gatedKernels: options.gatedKernels ?? null,
    leastLikelyTarget: options.leastLikelyTarget ?? 'least',
    rows,
    leastLikely: ll,
    summary: summarise(rows, used),
    leastLikelySummary: summariseLeastLikely(ll),
    accuracy: { a: correct.a / options.images, b: correct.b / options.images, ...(models.c ? { c: correct.c / options.images } : {}) },
    tensors: { before, after },
    seconds: (performance.now() - t0) / 1000,
  };
}
