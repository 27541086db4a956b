/**
 * `npm run eval [-- --quick] [-- --out docs]`: every method (FGVis defended,
 * undefended and its deletion game; each baseline) and every metric on the
 * real models and photos, written to `<out>/evaluation.md` with the figure
 * grid `<out>/eval-grid.png`.
 *
 * - Deletion / insertion AUC (RISE) of every method's saliency on every case.
 * - Preservation: FGVis's score kept and mask mean (defended and undefended).
 * - Model-randomisation sanity check (cascading, top-down, Spearman).
 * - Adversarial-evidence test (least likely class: defended, undefended, removed).
 * - Explanation-as-input (nsfw GraphModel <-> LayersModel).
 *
 * tf.memory() is printed after every method; a method that leaves tensors
 * behind is reported (the count must come back to where it was).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  AUTO_LAMBDA_DEFAULTS,
  ACTIVATION_KERNELS,
  EXPLAIN_DEFAULTS,
  explain,
  type Attribution,
  type ExplainableModel,
  type Explanation,
  type ExplainOptions,
} from '../../src';
import {
  BASELINES,
  INTEGRATED_GRADIENTS_DEFAULTS,
  MEANINGFUL_PERTURBATION_DEFAULTS,
  SMOOTH_GRAD_DEFAULTS,
} from '../../src/baselines';
import {
  adversarialEvidenceTest,
  ADVERSARIAL_EVIDENCE_DEFAULTS,
  deletionInsertion,
  DELETION_INSERTION_DEFAULTS,
  explanationAsInputTest,
  RANDOMIZATION_DEFAULTS,
  randomizationSanityCheck,
  type RandomizationResult,
} from '../../src/metrics';
import { builtinModel, writePNG } from '../../src/node';
import { argmax, inputFor, loadCaseModel, memoryLine, PHOTOS, scoresOf, since, useWasm, type LoadedCaseModel } from './cases';
import { evaluationGrid } from './grid';
import { boldBest, mdTable, meanRanks, num, prob } from './report';

// ---------------------------------------------------------------------------
// Settings

/** The AUC columns, in report order, and which way is better. */
const AUC_METRICS = [
  ['deletion', 'low'],
  ['deletionMatched', 'low'],
  ['insertion', 'high'],
  ['insertionMatched', 'high'],
] as const;
const AUC_TITLES: Record<(typeof AUC_METRICS)[number][0], string> = {
  deletion: 'Deletion AUC, RISE substrate (zero)',
  deletionMatched: `Deletion AUC, substrate matched to the reference ('${EXPLAIN_DEFAULTS.reference}')`,
  insertion: 'Insertion AUC, RISE substrate (blur)',
  insertionMatched: `Insertion AUC, substrate matched to the reference ('${EXPLAIN_DEFAULTS.reference}')`,
};

interface Settings {
  name: 'full' | 'quick';
  /** explain() overrides for the FGVis rows (empty: the library's defaults). */
  fgvis: ExplainOptions;
  smoothGradSamples: number;
  igSteps: number;
  mpSteps: number;
  diSteps: number;
  /** Sanity check: cases (by id) and checkpoints per model. */
  sanity: { caseId: string; checkpoints: number; methods: readonly MethodKey[] }[];
  /**
   * Adversarial-evidence test: cases (by id) and explain steps; `activationsOnly`
   * adds a defended run that gates the activations only (see ACTIVATIONS_ONLY).
   */
  adversarial: { caseId: string; steps: number; activationsOnly?: boolean }[];
}

/** One (model, photo, class) case. */
interface EvalCase {
  id: string;
  model: string;
  photo: string;
  /** A class name, or 'top'. */
  target: string;
  /** A second model over the same input space, for the explanation-as-input test. */
  partner?: string;
}

const CASES: EvalCase[] = [
  { id: 'emotion/astronaut-face', model: 'emotion', photo: 'astronaut-face', target: 'top' },
  { id: 'emotion/grace-face', model: 'emotion', photo: 'grace-face', target: 'top' },
  { id: 'emotion/grace-cap', model: 'emotion', photo: 'grace-cap', target: 'top' },
  { id: 'graph/chelsea', model: 'nsfw-mobilenet-v2-graph', photo: 'chelsea', target: 'Drawing', partner: 'nsfw-mobilenet-v2' },
  { id: 'graph/grace', model: 'nsfw-mobilenet-v2-graph', photo: 'grace', target: 'Drawing', partner: 'nsfw-mobilenet-v2' },
  { id: 'layers/coffee', model: 'nsfw-mobilenet-v2', photo: 'coffee', target: 'Neutral', partner: 'nsfw-mobilenet-v2-graph' },
  { id: 'layers/grace', model: 'nsfw-mobilenet-v2', photo: 'grace', target: 'Neutral', partner: 'nsfw-mobilenet-v2-graph' },
];

type MethodKey =
  | 'fgvis'
  | 'fgvisUndefended'
  | 'fgvisDeletion'
  | 'gradient'
  | 'smoothGrad'
  | 'integratedGradients'
  | 'gradCam'
  | 'occlusion'
  | 'meaningfulPerturbation';

const METHOD_LABELS: Record<MethodKey, string> = {
  fgvis: 'FGVis (defended)',
  fgvisUndefended: 'FGVis (undefended)',
  fgvisDeletion: 'FGVis deletion game (defended)',
  gradient: 'Gradient',
  smoothGrad: 'SmoothGrad',
  integratedGradients: 'Integrated Gradients',
  gradCam: 'Grad-CAM',
  occlusion: 'Occlusion',
  meaningfulPerturbation: 'Meaningful Perturbation',
};
const METHODS = Object.keys(METHOD_LABELS) as MethodKey[];
const ALL_METHODS = METHODS;
/**
 * The defense on the ReLU-like activations only (the default before every
 * layer's output was gated). Used as an extra column of the
 * adversarial-evidence test.
 */
const ACTIVATIONS_ONLY = ACTIVATION_KERNELS;

/** On MobileNetV2 (time): FGVis defended and the cheaper baselines. */
const CHEAP_SANITY: MethodKey[] = ['fgvis', 'gradient', 'smoothGrad', 'integratedGradients', 'gradCam', 'occlusion'];

const FULL: Settings = {
  name: 'full',
  fgvis: {},
  smoothGradSamples: 25,
  igSteps: 32,
  mpSteps: 150,
  diSteps: DELETION_INSERTION_DEFAULTS.steps,
  sanity: [
    { caseId: 'emotion/astronaut-face', checkpoints: 5, methods: ALL_METHODS },
    { caseId: 'graph/chelsea', checkpoints: 3, methods: CHEAP_SANITY },
  ],
  adversarial: [
    { caseId: 'emotion/astronaut-face', steps: 300, activationsOnly: true },
    { caseId: 'emotion/grace-face', steps: 300, activationsOnly: true },
    { caseId: 'emotion/grace-cap', steps: 300, activationsOnly: true },
    { caseId: 'graph/chelsea', steps: 150 },
    { caseId: 'layers/coffee', steps: 150 },
  ],
};

const QUICK: Settings = {
  name: 'quick',
  fgvis: { steps: 40, earlyStop: false },
  smoothGradSamples: 5,
  igSteps: 8,
  mpSteps: 30,
  diSteps: 16,
  sanity: [{ caseId: 'emotion/astronaut-face', checkpoints: 2, methods: ['fgvis', 'gradient', 'gradCam'] }],
  adversarial: [{ caseId: 'emotion/astronaut-face', steps: 60, activationsOnly: true }],
};
const QUICK_CASES = ['emotion/astronaut-face', 'graph/chelsea'];

// ---------------------------------------------------------------------------
// Results

interface MethodResult {
  seconds: number;
  /** Deletion / insertion AUC with RISE's substrates (zero to delete, blur to insert). */
  deletion: number | null;
  insertion: number | null;
  /** The same with both substrates matched to explain()'s default reference. */
  deletionMatched: number | null;
  insertionMatched: number | null;
  /** Tensors left behind by the method and its metric (should be 0). */
  leaked: number;
  error?: string;
  saliency?: { values: Float32Array; width: number; height: number };
  /** FGVis runs: what the explanation did. */
  fgvis?: {
    image: number;
    goal: number | null;
    explanation: number;
    reference: number;
    maskMean: number;
    steps: number;
    backoffs: number;
    lambda: number;
    warnings: string[];
  };
  /** nsfw FGVis preservation runs: the explanation shown to the partner model. */
  asInput?: { aImage: number; aExplanation: number; aEmpty: number; bImage: number; bExplanation: number; bEmpty: number; partner: string };
}

interface CaseResult {
  c: EvalCase;
  className: string;
  target: number;
  image: number;
  empty: number;
  /** The class the model gives the empty (all-zero) image, and its score. */
  emptyTop: { className: string; score: number };
  input: tf.Tensor4D;
  range: readonly [number, number];
  methods: Partial<Record<MethodKey, MethodResult>>;
}

interface SanityRow {
  caseId: string;
  method: MethodKey;
  layers: string[];
  spearman: number[];
  seconds: number;
  error?: string;
}

interface AdversarialRow {
  caseId: string;
  model: string;
  className: string;
  steps: number;
  image: number;
  empty: number;
  defended: number;
  undefended: number;
  maskDefended: number;
  maskUndefended: number;
  gatedOutputs: number;
  partner?: { name: string; className: string; image: number; empty: number; defended: number; undefended: number };
  /** The defended run with the activations only gated (ACTIVATIONS_ONLY). */
  activationsOnly?: { score: number; mask: number; gatedOutputs: number };
  seconds: number;
  error?: string;
}

// ---------------------------------------------------------------------------

function parseArgs(argv: string[]): { quick: boolean; out: string; cases?: string[] } {
  let quick = false;
  let out = 'docs';
  let cases: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--out') out = argv[++i]!;
    else if (a === '--cases') cases = argv[++i]!.split(',');
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run eval [-- --quick] [--out DIR] [--cases id,id]\ncases: ' + CASES.map((c) => c.id).join(', '));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return { quick, out, cases };
}

function log(s: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
}

/** Run one attribution method. */
async function runMethod(
  key: MethodKey,
  s: Settings,
  model: ExplainableModel,
  x: tf.Tensor4D,
  target: number,
): Promise<Attribution & { explanation?: Explanation }> {
  switch (key) {
    case 'fgvis': {
      const e = await explain(model, x, target, { ...s.fgvis });
      return Object.assign(e, { explanation: e });
    }
    case 'fgvisUndefended': {
      const e = await explain(model, x, target, { ...s.fgvis, defense: false });
      return Object.assign(e, { explanation: e });
    }
    case 'fgvisDeletion': {
      const e = await explain(model, x, target, { ...s.fgvis, game: 'deletion' });
      return Object.assign(e, { explanation: e });
    }
    case 'gradient':
      return BASELINES.gradient(model, x, target);
    case 'smoothGrad':
      return BASELINES.smoothGrad(model, x, target, { samples: s.smoothGradSamples, batchSize: 5 });
    case 'integratedGradients':
      return BASELINES.integratedGradients(model, x, target, { steps: s.igSteps, batchSize: 4 });
    case 'gradCam':
      return BASELINES.gradCam(model, x, target);
    case 'occlusion':
      return BASELINES.occlusion(model, x, target);
    case 'meaningfulPerturbation':
      return BASELINES.meaningfulPerturbation(model, x, target, { steps: s.mpSteps });
  }
}

/** The method as an AttributionMethod for the sanity check (its own settings). */
function methodFn(key: MethodKey, s: Settings) {
  return async (m: ExplainableModel, input: tf.Tensor, t: number | 'top') => {
    const x = input as tf.Tensor4D;
    return runMethod(key, s, m, x, t === 'top' ? (() => { throw new Error('target must be resolved'); })() : t);
  };
}

async function evaluateCase(c: EvalCase, m: LoadedCaseModel, partner: LoadedCaseModel | null, s: Settings): Promise<CaseResult> {
  const x = await inputFor(m, PHOTOS[c.photo]!);
  const sc = await scoresOf(m, x);
  const target = c.target === 'top' ? argmax(sc.image) : m.spec.classes.indexOf(c.target);
  if (target < 0) throw new Error(`${c.id}: unknown class ${c.target}`);
  const result: CaseResult = {
    c,
    className: m.spec.classes[target]!,
    target,
    image: sc.image[target]!,
    empty: sc.empty[target]!,
    emptyTop: { className: m.spec.classes[argmax(sc.empty)]!, score: sc.empty[argmax(sc.empty)]! },
    input: x,
    range: m.range,
    methods: {},
  };
  log(`case ${c.id}: ${result.className} p=${prob(result.image)} (black image ${prob(result.empty)}, removed ${prob(sc.removed[target]!)}) | ${memoryLine()}`);
  for (const key of METHODS) {
    const before = tf.memory().numTensors;
    const t0 = performance.now();
    const r: MethodResult = { seconds: 0, deletion: null, insertion: null, deletionMatched: null, insertionMatched: null, leaked: 0 };
    let a: (Attribution & { explanation?: Explanation }) | null = null;
    try {
      if (partner && (key === 'fgvis' || key === 'fgvisUndefended')) {
        // FGVis preservation on an nsfw model: run it through the explanation-as-input test,
        // which makes exactly explain()'s preservation explanation and shows it to the partner too.
        const t = await explanationAsInputTest(m.model, partner.model, x, target, {
          explain: { ...s.fgvis, ...(key === 'fgvisUndefended' ? { defense: false } : {}) },
          keepExplanation: true,
        });
        const e = t.explanation!;
        a = Object.assign(e, { explanation: e });
        r.asInput = {
          aImage: t.a.image, aExplanation: t.a.explanation, aEmpty: t.a.reference,
          bImage: t.b.image, bExplanation: t.b.explanation, bEmpty: t.b.reference, partner: partner.name,
        };
      } else {
        a = await runMethod(key, s, m.model, x, target);
      }
      r.seconds = since(t0);
      const e = a.explanation;
      if (e) {
        r.fgvis = {
          image: e.scores.image, goal: e.goal?.score ?? null, explanation: e.scores.explanation, reference: e.scores.reference,
          maskMean: e.maskMean, steps: e.steps, backoffs: e.backoffs, lambda: e.lambda, warnings: e.warnings,
        };
      }
      const [h, w] = a.saliency.shape;
      r.saliency = { values: (await a.saliency.data()) as Float32Array, width: w, height: h };
      const di = await deletionInsertion(m.model, x, a.saliency, target, { steps: s.diSteps });
      r.deletion = di.deletion!.auc;
      r.insertion = di.insertion!.auc;
      const matched = EXPLAIN_DEFAULTS.reference;
      const dm = await deletionInsertion(m.model, x, a.saliency, target, { steps: s.diSteps, deletionSubstrate: matched, insertionSubstrate: matched });
      r.deletionMatched = dm.deletion!.auc;
      r.insertionMatched = dm.insertion!.auc;
    } catch (err) {
      r.error = err instanceof Error ? err.message : String(err);
      log(`  ${key} FAILED: ${r.error}`);
    } finally {
      a?.dispose();
    }
    r.leaked = tf.memory().numTensors - before;
    result.methods[key] = r;
    const f = r.fgvis ? ` | score ${prob(r.fgvis.explanation)} mask ${num(r.fgvis.maskMean)} steps ${r.fgvis.steps} backoffs ${r.fgvis.backoffs}` : '';
    log(`  ${METHOD_LABELS[key]}: ${num(r.seconds, 1)} s, deletion ${num(r.deletion)} / ${num(r.deletionMatched)}, insertion ${num(r.insertion)} / ${num(r.insertionMatched)}${f} | ${memoryLine()}${r.leaked ? ` | LEAKED ${r.leaked} tensors` : ''}`);
  }
  return result;
}

async function sanity(c: CaseResult, m: LoadedCaseModel, methods: readonly MethodKey[], checkpoints: number, s: Settings): Promise<SanityRow[]> {
  const rows: SanityRow[] = [];
  for (const key of methods) {
    const t0 = performance.now();
    const before = tf.memory().numTensors;
    let r: RandomizationResult | null = null;
    try {
      r = await randomizationSanityCheck(m.model, c.input, c.target, methodFn(key, s), { checkpoints, mode: 'cascading' });
      rows.push({ caseId: c.c.id, method: key, layers: r.steps.map((st) => st.layer), spearman: r.steps.map((st) => st.spearman), seconds: since(t0) });
    } catch (err) {
      rows.push({ caseId: c.c.id, method: key, layers: [], spearman: [], seconds: since(t0), error: err instanceof Error ? err.message : String(err) });
    } finally {
      r?.dispose();
    }
    const row = rows[rows.length - 1]!;
    const leaked = tf.memory().numTensors - before;
    log(`  sanity ${c.c.id} ${METHOD_LABELS[key]}: ${row.error ?? row.spearman.map((v) => num(v, 2)).join(' ')} (${num(row.seconds, 0)} s) | ${memoryLine()}${leaked ? ` | LEAKED ${leaked}` : ''}`);
  }
  return rows;
}

async function adversarial(c: CaseResult, m: LoadedCaseModel, partner: LoadedCaseModel | null, steps: number, activationsOnly: boolean): Promise<AdversarialRow> {
  const t0 = performance.now();
  const before = tf.memory().numTensors;
  let row: AdversarialRow;
  let res: Awaited<ReturnType<typeof adversarialEvidenceTest>> | null = null;
  try {
    res = await adversarialEvidenceTest(m.model, c.input, { explain: { steps }, keepExplanations: true });
    row = {
      caseId: c.c.id, model: m.name, className: m.spec.classes[res.target]!, steps,
      image: res.scores.image, empty: res.scores.reference, defended: res.scores.defended, undefended: res.scores.undefended,
      maskDefended: res.maskMean.defended, maskUndefended: res.maskMean.undefended, gatedOutputs: res.gatedOutputs, seconds: 0,
    };
    if (partner) {
      const ex = res.explanations!;
      const sc = async (t: tf.Tensor) => {
        const x4 = tf.reshape(t, c.input.shape) as tf.Tensor4D;
        const out = (await scoresOf(partner, x4)).image[res!.target]!;
        x4.dispose();
        return out;
      };
      const ps = await scoresOf(partner, c.input);
      row.partner = {
        name: partner.name, className: partner.spec.classes[res.target]!, image: ps.image[res.target]!, empty: ps.removed[res.target]!,
        defended: await sc(ex.defended.explanation), undefended: await sc(ex.undefended.explanation),
      };
    }
    if (activationsOnly) {
      const e = await explain(m.model, c.input, res.target, {
        ...ADVERSARIAL_EVIDENCE_DEFAULTS.explain, steps, game: 'preservation', defense: true, gatedKernels: ACTIVATIONS_ONLY,
      });
      row.activationsOnly = { score: e.scores.explanation, mask: e.maskMean, gatedOutputs: e.gatedOutputs };
      e.dispose();
    }
    row.seconds = since(t0);
  } catch (err) {
    row = {
      caseId: c.c.id, model: m.name, className: '?', steps, image: NaN, empty: NaN, defended: NaN, undefended: NaN,
      maskDefended: NaN, maskUndefended: NaN, gatedOutputs: 0, seconds: since(t0), error: err instanceof Error ? err.message : String(err),
    };
  } finally {
    res?.dispose();
  }
  const leaked = tf.memory().numTensors - before;
  log(`  adversarial ${c.c.id} (${row.className}): image ${prob(row.image)} empty ${prob(row.empty)} defended ${prob(row.defended)} undefended ${prob(row.undefended)}${row.activationsOnly ? ` activations-only defense ${prob(row.activationsOnly.score)}` : ''} (${num(row.seconds, 0)} s)${row.error ? ' ERROR ' + row.error : ''} | ${memoryLine()}${leaked ? ` | LEAKED ${leaked}` : ''}`);
  return row;
}

// ---------------------------------------------------------------------------
// Report

function describeSettings(s: Settings): string {
  const fg = Object.keys(s.fgvis).length ? `explain() with ${JSON.stringify(s.fgvis)} over its defaults` : "explain()'s defaults";
  const ed = EXPLAIN_DEFAULTS;
  const al = AUTO_LAMBDA_DEFAULTS;
  const [sg, ig, mp, di] = [SMOOTH_GRAD_DEFAULTS, INTEGRATED_GRADIENTS_DEFAULTS, MEANINGFUL_PERTURBATION_DEFAULTS, DELETION_INSERTION_DEFAULTS];
  return [
    `- FGVis: ${fg} (defaults: Adam lr ${ed.learningRate.adam}, at most ${ed.steps} steps, early stopping patience ${ed.earlyStop.patience} / minDelta ${ed.earlyStop.minDelta} / minSteps ${ed.earlyStop.minSteps}, lambda 'auto' with tolerance ${al.tolerance}, deletion fraction ${al.deletionFraction}, initial ${al.initial}, log-rate +${al.increase} / -${al.decrease}, back-off after ${ed.backoff.after} missed steps, at most ${ed.backoff.maxBackoffs}; defense on; reference ${ed.reference}). "Undefended" is the same call with \`defense: false\`; "deletion game" with \`game: 'deletion'\` (saliency 1 - m).`,
    `- Baselines: Gradient, Grad-CAM (automatic layer) and Occlusion with their defaults; SmoothGrad ${s.smoothGradSamples} samples (default ${sg.samples}, noise ${sg.noise}); Integrated Gradients ${s.igSteps} steps (default ${ig.steps}, ${ig.baseline} baseline); Meaningful Perturbation ${s.mpSteps} steps (default ${mp.steps}${s.mpSteps < mp.steps ? '; shortened for time' : ''}), otherwise its defaults (${mp.game} game, mask at 1/${mp.upsample} of the input size upsampled x${mp.upsample}, ${mp.reference === 'blur' ? 'blurred' : mp.reference} reference, L1 ${mp.l1[mp.game]}, TV ${mp.tv}, exponent ${mp.tvExponent}).`,
    `- Deletion / insertion (RISE): ${s.diSteps} steps (equal pixel chunks), deletion substrate ${di.deletionSubstrate} in the model's input space, insertion from the image ${di.insertionSubstrate === 'blur' ? `blurred with sigma ${di.blurSigma}` : `(${di.insertionSubstrate})`}; AUC by the trapezoid rule over the fraction of pixels. Deletion: lower is better; insertion: higher is better. "Matched": the same with both substrates set to explain()'s default reference (${EXPLAIN_DEFAULTS.reference}).`,
  ].join('\n');
}

function caseHeader(c: CaseResult): string {
  return `${c.c.id} ${c.className} (${prob(c.image)})`;
}

/** The smallest gap between B's image and empty-image scores for which {@link gapShare} reads the explanation's place. */
const MIN_GAP = 0.1;

/** `(e - empty) / (image - empty)`, or a note when the gap is too small to read. */
function gapShare(e: number, image: number, empty: number): string {
  return Math.abs(image - empty) < MIN_GAP ? `gap ${num(Math.abs(image - empty), 3)} < ${MIN_GAP}` : num((e - empty) / (image - empty), 2);
}

/** `GraphModel` or `LayersModel`, for a case's model. */
const kindLabel = (name: string) => (builtinModel(name).kind === 'graph' ? 'GraphModel' : 'LayersModel');

/**
 * The models and photos of the run, from the registry and the case table:
 * names, kinds, classes and the face crops.
 */
function describeModels(cases: CaseResult[]): string {
  const prefixes = new Map<string, string>();
  for (const c of cases) prefixes.set(c.c.id.split('/')[0]!, c.c.model);
  const model = ([prefix, name]: [string, string]) => {
    const spec = builtinModel(name);
    const [h, w, ch] = spec.inputSize;
    return `${prefix === name ? '' : `\`${prefix}\` = `}\`${name}\` (${kindLabel(name)}, ${h}x${w} ${ch === 1 ? 'grey' : 'RGB'}, ${spec.classes.length} classes)`;
  };
  const crops = [...new Set(cases.map((c) => c.c.photo))]
    .map((p) => PHOTOS[p]!)
    .filter((p) => p.crop)
    .map((p) => `${p.label} x=${p.crop![0]},y=${p.crop![1]},w=${p.crop![2]},h=${p.crop![3]}`);
  return `Models (by the prefix of the case ids): ${[...prefixes].map(model).join(', ')}. Photos from assets/photos${crops.length ? ` (face crops: ${crops.join('; ')})` : ''}.`;
}

/**
 * How the targets were chosen, with what the run measured: the class each
 * nsfw model gives the empty (all-zero, black) image, and the class explained.
 */
function describeTargets(cases: CaseResult[]): string {
  const byModel = new Map<string, CaseResult[]>();
  for (const c of cases) if (c.c.target !== 'top') byModel.set(c.c.model, [...(byModel.get(c.c.model) ?? []), c]);
  const parts = [...byModel].map(([name, cs]) => ({
    label: `the ${kindLabel(name)}`,
    empty: cs[0]!.emptyTop,
    targets: [...new Set(cs.map((c) => c.className))],
  }));
  const tops = [...new Set(cases.filter((c) => c.c.target === 'top').map((c) => c.c.model))];
  const head = tops.length ? `the top class for ${tops.map((n) => `\`${n}\``).join(', ')}` : '';
  const removed = `"Removed" columns give the target's score with every value removed (explain()'s default reference, \`'${EXPLAIN_DEFAULTS.reference}'\`), the floor an explanation can fall to.`;
  if (parts.length === 0) return `Targets: ${head}. ${removed}`;
  const calls = parts.map((p) => `${p.label} calls the black image \`${p.empty.className}\` (${prob(p.empty.score)})`).join(', ');
  const explained = parts.map((p) => `${p.label} is explained on ${p.targets.map((t) => `\`${t}\``).join(', ')}`).join(' and ');
  return (
    `Targets: ${head}${head ? '; ' : ''}on the nsfw models a class with a meaningful score, i.e. not the class the empty (all-zero, black) image already gets: ` +
    `${calls}, so ${explained}. ${removed}`
  );
}

/** Facts read off the results, one line each (no interpretation that the numbers could contradict). */
function summaryLines(cases: CaseResult[], sanityRows: SanityRow[], advRows: AdversarialRow[]): string[] {
  const lines: string[] = [];
  const median = (v: number[]) => {
    const s2 = [...v].sort((a, b) => a - b);
    return s2.length ? (s2.length % 2 ? s2[(s2.length - 1) / 2]! : (s2[s2.length / 2 - 1]! + s2[s2.length / 2]!) / 2) : NaN;
  };
  // Preservation.
  const pres = cases.map((c) => c.methods.fgvis?.fgvis).filter((f): f is NonNullable<MethodResult['fgvis']> => f !== undefined);
  if (pres.length) {
    const met = pres.filter((f) => f.goal === null || f.explanation >= f.goal).length;
    const masks = pres.map((f) => f.maskMean);
    const over = cases.filter((c) => c.methods.fgvis?.fgvis && c.methods.fgvis.fgvis.explanation > c.methods.fgvis.fgvis.image + 0.02);
    lines.push(
      `Preservation (FGVis defended, defaults): ${met}/${pres.length} explanations kept the score within the tolerance; mask mean ${num(Math.min(...masks))}-${num(Math.max(...masks))} (median ${num(median(masks))}).` +
        (over.length ? ` In ${over.map((c) => `${c.c.id} (${prob(c.methods.fgvis!.fgvis!.image)} -> ${prob(c.methods.fgvis!.fgvis!.explanation)})`).join(', ')} the explanation scores more than the image: evidence the optimiser built rather than found.` : ''),
    );
  }
  // Adversarial evidence.
  for (const r of advRows.filter((q) => !q.error)) {
    lines.push(
      `Adversarial evidence, ${r.caseId} (least likely class ${r.className}, removed ${prob(r.empty)}): defended ${prob(r.defended)}, undefended ${prob(r.undefended)}` +
        (r.activationsOnly ? `, activations only gated ${prob(r.activationsOnly.score)}` : '') +
        (r.partner ? `; shown to the ${r.partner.name === 'nsfw-mobilenet-v2' ? 'LayersModel' : 'GraphModel'}: defended ${prob(r.partner.defended)}, undefended ${prob(r.partner.undefended)} (its removed score ${prob(r.partner.empty)})` : '') +
        '.',
    );
  }
  // Explanation as input.
  const ai = cases.flatMap((c) => (['fgvis', 'fgvisUndefended'] as const).map((k) => [c, k, c.methods[k]?.asInput] as const)).filter((q) => q[2]);
  if (ai.length) {
    const part = (k: 'fgvis' | 'fgvisUndefended') =>
      ai.filter((q) => q[1] === k).map(([c, , a]) => `${c.c.id} ${gapShare(a!.bExplanation, a!.bImage, a!.bEmpty)}`).join(', ');
    lines.push(`Explanation as input, B's (e - removed) / (image - removed): defended ${part('fgvis')}; undefended ${part('fgvisUndefended')}.`);
  }
  // Deletion / insertion.
  for (const [metric, better] of AUC_METRICS) {
    const matrix = METHODS.map((k) => cases.map((c) => c.methods[k]?.[metric] ?? null));
    const ranks = meanRanks(matrix, better);
    const order = METHODS.map((k, i) => [k, ranks[i]!] as const).filter((p) => Number.isFinite(p[1])).sort((a, b) => a[1] - b[1]);
    const pos = order.findIndex(([k]) => k === 'fgvis') + 1;
    const beats = cases.filter((_, j) => {
      const f = matrix[0]![j];
      return f !== null && f !== undefined && METHODS.slice(3).some((_, i) => {
        const b = matrix[i + 3]![j];
        return b !== null && b !== undefined && (better === 'low' ? b < f : b > f);
      });
    }).length;
    lines.push(
      `${AUC_TITLES[metric]}: mean ranks ${order.map(([k, r]) => `${METHOD_LABELS[k]} ${r.toFixed(1)}`).join(', ')}. FGVis (defended) places ${pos} of ${order.length}; at least one baseline beats it on ${beats} of ${cases.length} cases.`,
    );
  }
  // Sanity check.
  const byCase = new Map<string, SanityRow[]>();
  for (const r of sanityRows) byCase.set(r.caseId, [...(byCase.get(r.caseId) ?? []), r]);
  for (const [caseId, rows] of byCase) {
    const m = rows
      .filter((r) => !r.error && r.spearman.length)
      .map((r) => [r.method, r.spearman.reduce((a, b) => a + (Number.isFinite(b) ? Math.abs(b) : 0), 0) / r.spearman.length] as const)
      .sort((a, b) => a[1] - b[1]);
    lines.push(`Sanity check, ${caseId}: mean |Spearman| after randomisation (lower = depends more on the learned weights): ${m.map(([k, v]) => `${METHOD_LABELS[k]} ${v.toFixed(2)}`).join(', ')}.`);
  }
  return lines;
}

function buildReport(
  s: Settings,
  cases: CaseResult[],
  sanityRows: SanityRow[],
  advRows: AdversarialRow[],
  totalSeconds: number,
  leaksTotal: number,
): string {
  const out: string[] = [];
  out.push('# Evaluation: FGVis against the baselines on the real models');
  out.push('');
  out.push(
    `Generated by \`npm run eval${s.name === 'quick' ? ' -- --quick' : ''}\` (scripts/eval/main.ts) on ${new Date().toISOString().slice(0, 10)}, tfjs ${tf.version_core} on the ${tf.getBackend()} backend, Node ${process.version}; ${(totalSeconds / 60).toFixed(1)} minutes.` +
      (s.name === 'quick' ? ' **This is the --quick smoke run: shortened settings, numbers not representative.**' : ''),
  );
  out.push('');
  out.push(describeModels(cases));
  out.push('');
  out.push(describeTargets(cases));
  out.push('');
  out.push('Settings:');
  out.push(describeSettings(s));
  out.push('');
  out.push('![grid](eval-grid.png)');
  out.push('');
  out.push('*Figure (eval-grid.png): one column per case, one row per method: the saliency (normalised to its maximum) over the image, with the deletion / insertion AUC in the caption.*');
  out.push('');

  out.push('## Summary (computed from the tables below)');
  out.push('');
  for (const line of summaryLines(cases, sanityRows, advRows)) out.push(`- ${line}`);
  out.push('');

  // Preservation
  out.push('## Preservation: score kept and mask mean (FGVis)');
  out.push('');
  out.push(`The automatic lambda aims for a score of at least the image's minus the tolerance (${AUTO_LAMBDA_DEFAULTS.tolerance}) and returns the sparsest iterate that met it. "met" compares the explanation's score (read from the unmodified model) with that goal.`);
  out.push('');
  const presRows: string[][] = [];
  for (const c of cases) {
    for (const key of ['fgvis', 'fgvisUndefended'] as const) {
      const r = c.methods[key];
      if (!r?.fgvis) continue;
      const f = r.fgvis;
      const met = f.goal === null ? '-' : f.explanation >= f.goal ? 'yes' : '**no**';
      presRows.push([c.c.id, c.className, key === 'fgvis' ? 'defended' : 'undefended', prob(f.image), prob(f.reference), f.goal === null ? '-' : `>= ${prob(f.goal)}`, prob(f.explanation), met, num(f.maskMean), String(f.steps), String(f.backoffs), num(f.lambda, 2), num(r.seconds, 0)]);
    }
  }
  out.push(`"removed": the target's score when every value is removed, i.e. on the reference (\`'${EXPLAIN_DEFAULTS.reference}'\`), the floor an explanation can fall to.`);
  out.push('');
  out.push(mdTable(['case', 'class', 'FGVis', 'image', 'removed', 'goal', 'explanation', 'met', 'mask mean', 'steps', 'back-offs', 'lambda', 's'], presRows, ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r']));
  out.push('');
  const delRows: string[][] = [];
  for (const c of cases) {
    const r = c.methods.fgvisDeletion;
    if (!r?.fgvis) continue;
    const f = r.fgvis;
    const met = f.goal === null ? '-' : f.explanation <= f.goal ? 'yes' : '**no**';
    delRows.push([c.c.id, c.className, prob(f.image), prob(f.reference), f.goal === null ? '-' : `<= ${prob(f.goal)}`, prob(f.explanation), met, num(1 - f.maskMean), String(f.steps), String(f.backoffs), num(r.seconds, 0)]);
  }
  if (delRows.length) {
    out.push(`Deletion game (defended): the score must fall to the removed score plus ${AUTO_LAMBDA_DEFAULTS.deletionFraction * 100} % of the way to the image's; "deleted" is the mean of 1 - m.`);
    out.push('');
    out.push(mdTable(['case', 'class', 'image', 'removed', 'goal', 'explanation', 'met', 'deleted', 'steps', 'back-offs', 's'], delRows, ['l', 'l', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'r']));
    out.push('');
  }

  // Deletion / insertion
  out.push('## Deletion and insertion AUC');
  out.push('');
  out.push(`Deletion AUC: lower is better (the score falls fast when the top-ranked pixels are removed). Insertion AUC: higher is better. Each is measured twice: with RISE's substrates (deletion towards zero, insertion from the blurred image), and with both substrates matched to explain()'s default reference (\`'${EXPLAIN_DEFAULTS.reference}'\`), so that no method wins only by sharing the metric's substrate. Best per column in bold; "mean rank" averages each method's rank over the cases (1 = best).`);
  out.push('');
  for (const [metric, better] of AUC_METRICS) {
    out.push(`### ${AUC_TITLES[metric]} (${better === 'low' ? 'lower' : 'higher'} is better)`);
    out.push('');
    const matrix = METHODS.map((k) => cases.map((c) => c.methods[k]?.[metric] ?? null));
    const ranks = meanRanks(matrix, better);
    const cols = cases.map((_, j) => boldBest(matrix.map((row) => row[j] ?? null), better, (v) => v.toFixed(3)));
    const rows = METHODS.map((k, i) => [METHOD_LABELS[k], ...cases.map((_, j) => cols[j]![i]!), num(ranks[i], 2)]);
    out.push(mdTable(['method', ...cases.map(caseHeader), 'mean rank'], rows, ['l', ...cases.map(() => 'r' as const), 'r']));
    out.push('');
  }

  // Sanity check
  if (sanityRows.length) {
    out.push('## Model-randomisation sanity check (Adebayo et al. 2018)');
    out.push('');
    out.push(`Cascading randomisation from the output layer down (weights re-drawn from a normal with each tensor's own mean and standard deviation, seed ${RANDOMIZATION_DEFAULTS.seed}); at each checkpoint the method explains the same class on the randomised model and its map is compared with the original map by Spearman rank correlation. A method whose map depends on what the model learned should fall towards 0 as more layers are randomised; a map that stays correlated reflects the input (edges) rather than the model.`);
    out.push('');
    const byCase = new Map<string, SanityRow[]>();
    for (const r of sanityRows) byCase.set(r.caseId, [...(byCase.get(r.caseId) ?? []), r]);
    for (const [caseId, rows] of byCase) {
      const layers = rows.find((r) => r.layers.length)?.layers ?? [];
      out.push(`### ${caseId}`);
      out.push('');
      const head = ['method', ...layers.map((l, i) => `${i + 1}: ${l.length > 24 ? '...' + l.slice(-21) : l}`), 'mean |rho|', 's'];
      out.push(
        mdTable(
          head,
          rows.map((r) => {
            // A constant randomised map (Spearman undefined) shares nothing with the original: counted as 0.
            const mean = r.spearman.length ? r.spearman.reduce((a, b) => a + (Number.isFinite(b) ? Math.abs(b) : 0), 0) / r.spearman.length : NaN;
            return r.error
              ? [METHOD_LABELS[r.method], `error: ${r.error}`, ...layers.slice(1).map(() => ''), '', num(r.seconds, 0)]
              : [METHOD_LABELS[r.method], ...r.spearman.map((v) => (Number.isFinite(v) ? num(v, 2) : 'const')), num(mean, 2), num(r.seconds, 0)];
          }),
          ['l', ...layers.map(() => 'r' as const), 'r', 'r'],
        ),
      );
      out.push('');
    }
    out.push('Columns: checkpoints in cascade order (1 = only the top layer randomised; the last = every layer down to the named one randomised). "const": the map on the randomised model is constant, so its rank correlation is undefined; it keeps nothing of the original map and counts as 0 in the mean. For FGVis this happens when the randomised model gives the class so low a score that the empty mask already meets the automatic lambda\'s goal.');
    out.push('');
  }

  // Adversarial evidence
  if (advRows.length) {
    out.push('## Adversarial-evidence test (least likely class)');
    out.push('');
    out.push(`Explain the class the model finds least likely on the image (preservation game, fixed lambda ${ADVERSARIAL_EVIDENCE_DEFAULTS.explain.lambda}, no early stopping, the same number of steps with and without the defense). The image has no evidence for it: an honest explanation should not score much above the removed (all-reference) input; without the defense the optimiser may invent evidence. For the nsfw models the two explanations are also shown to the other nsfw model (adversarial evidence tuned to one model should not transfer). The default defense gates the ReLU family and, as fgvis's own extension (the paper gates the nonlinearity layers, all but the final classification layer), the outputs of convolutions, adds and max pooling; never the input's normalisation or the classification layer. "Activations only" is a third, defended run whose defense gates the ReLU family alone (\`gatedKernels: ACTIVATION_KERNELS\`, the default of the first release); the count in brackets is the number of gated outputs against the default defense's.`);
    out.push('');
    out.push(
      mdTable(
        ['case', 'class', 'steps', 'image', 'removed', 'defended', 'undefended', 'margin', 'mask (def / undef)', 'defended, activations only (gated outputs)', 'partner: image / removed / defended / undefended', 's'],
        advRows.map((r) => [
          r.caseId, r.className, String(r.steps), prob(r.image), prob(r.empty), `**${prob(r.defended)}**`, prob(r.undefended), num(r.undefended - r.defended),
          `${num(r.maskDefended)} / ${num(r.maskUndefended)}`,
          r.activationsOnly ? `${prob(r.activationsOnly.score)} (${r.activationsOnly.gatedOutputs} vs ${r.gatedOutputs})` : '-',
          r.partner ? `${r.partner.name === 'nsfw-mobilenet-v2' ? 'layers' : 'graph'}: ${prob(r.partner.image)} / ${prob(r.partner.empty)} / ${prob(r.partner.defended)} / ${prob(r.partner.undefended)}` : '-',
          r.error ? `error: ${r.error}` : num(r.seconds, 0),
        ]),
        ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r'],
      ),
    );
    out.push('');
  }

  // Explanation as input
  const asInput: string[][] = [];
  for (const c of cases) {
    for (const key of ['fgvis', 'fgvisUndefended'] as const) {
      const r = c.methods[key];
      if (!r?.asInput) continue;
      const a = r.asInput;
      asInput.push([
        c.c.id, c.className, key === 'fgvis' ? 'defended' : 'undefended', num(r.fgvis?.maskMean),
        `${prob(a.aImage)} / ${prob(a.aEmpty)} / ${prob(a.aExplanation)}`,
        a.partner === 'nsfw-mobilenet-v2' ? 'layers' : 'graph',
        `${prob(a.bImage)} / ${prob(a.bEmpty)} / **${prob(a.bExplanation)}**`,
        gapShare(a.bExplanation, a.bImage, a.bEmpty),
      ]);
    }
  }
  if (asInput.length) {
    out.push('## Explanation as input (nsfw GraphModel <-> LayersModel)');
    out.push('');
    out.push('The preservation explanation e = m * x + (1 - m) * r of model A is shown to the unmodified model A and to the other nsfw model B (same input space; emotion has a different input space, so this test is only run within nsfw). Scores are the target\'s softmax probability as image / removed (the reference r) / explanation. Real evidence keeps B\'s score near its image score; evidence tuned to A does not transfer. Note the two models disagree on these photos and call the black image different classes, so B\'s image and empty scores must be read beside its explanation score.');
    out.push('');
    out.push(mdTable(['case (A)', 'class', 'FGVis', 'mask mean', 'A: image / removed / e', 'B', 'B: image / removed / e', 'B: (e - removed) / (image - removed)'], asInput, ['l', 'l', 'l', 'r', 'r', 'l', 'r', 'r']));
    out.push('');
    out.push(`Last column: where B's score on the explanation lies between its empty-image score (0) and its image score (1); shown only where B's image and empty scores differ by at least ${MIN_GAP}, since the two nsfw models disagree on several photos.`);
    out.push('');
  }

  // Timing and memory
  out.push('## Seconds per method');
  out.push('');
  out.push(`Wall-clock seconds of the method alone (without its deletion/insertion metric) on a ${cpus().length}-core machine (load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} over 1 / 5 / 15 minutes at the end of the run); the explanation-as-input runs include scoring on the partner model.`);
  out.push('');
  out.push(mdTable(['method', ...cases.map((c) => c.c.id)], METHODS.map((k) => [METHOD_LABELS[k], ...cases.map((c) => num(c.methods[k]?.seconds, 1))]), ['l', ...cases.map(() => 'r' as const)]));
  out.push('');
  out.push(`Tensor leaks across methods (tf.memory().numTensors after minus before each method and its metrics): ${leaksTotal === 0 ? 'none' : `**${leaksTotal} tensors**`}.`);
  const errors = cases.flatMap((c) => METHODS.filter((k) => c.methods[k]?.error).map((k) => `${c.c.id} ${METHOD_LABELS[k]}: ${c.methods[k]!.error}`));
  if (errors.length) {
    out.push('');
    out.push('Errors:');
    for (const e of errors) out.push(`- ${e}`);
  }
  const warnings = cases.flatMap((c) => METHODS.flatMap((k) => (c.methods[k]?.fgvis?.warnings ?? []).map((w) => `${c.c.id} ${METHOD_LABELS[k]}: ${w}`)));
  if (warnings.length) {
    out.push('');
    out.push('Warnings from explain():');
    for (const w of warnings) out.push(`- ${w}`);
  }
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const s = args.quick ? QUICK : FULL;
  const wanted = args.cases ?? (args.quick ? QUICK_CASES : CASES.map((c) => c.id));
  const cases = CASES.filter((c) => wanted.includes(c.id));
  if (cases.length === 0) throw new Error(`no case selected; cases: ${CASES.map((c) => c.id).join(', ')}`);
  await useWasm();
  const t0 = performance.now();
  log(`fgvis evaluation (${s.name}) on ${tf.getBackend()}: ${cases.map((c) => c.id).join(', ')} | ${memoryLine()}`);

  const results: CaseResult[] = [];
  const sanityRows: SanityRow[] = [];
  const advRows: AdversarialRow[] = [];
  const models = new Map<string, LoadedCaseModel>();
  const get = async (name: string) => {
    let m = models.get(name);
    if (!m) {
      m = await loadCaseModel(name);
      models.set(name, m);
    }
    return m;
  };
  let leaks = 0;
  try {
    for (const c of cases) {
      const m = await get(c.model);
      const partner = c.partner ? await get(c.partner) : null;
      const before = tf.memory().numTensors;
      const r = await evaluateCase(c, m, partner, s);
      results.push(r);
      for (const sc of s.sanity.filter((q) => q.caseId === c.id)) sanityRows.push(...(await sanity(r, m, sc.methods, sc.checkpoints, s)));
      for (const a of s.adversarial.filter((q) => q.caseId === c.id)) advRows.push(await adversarial(r, m, partner, a.steps, a.activationsOnly ?? false));
      const left = tf.memory().numTensors - before - 1; // the case's input is kept for the figure
      leaks += Math.max(0, left);
      log(`case ${c.id} done | ${memoryLine()}${left ? ` | ${left} tensors more than before the case` : ''}`);
    }

    mkdirSync(args.out, { recursive: true });
    const grid = await evaluationGrid(
      results.map((r) => ({ input: r.input, range: r.range, caption: `${r.c.id} ${r.className} ${prob(r.image)}` })),
      METHODS.map((k) => METHOD_LABELS[k]),
      METHODS.map((k) => results.map((r) => r.methods[k]?.saliency ?? null)),
      METHODS.map((k) => results.map((r) => {
        const q = r.methods[k];
        return q?.error ? 'error' : `del ${num(q?.deletion, 2)} ins ${num(q?.insertion, 2)}`;
      })),
      { cellSize: 128 },
    );
    await writePNG(join(args.out, 'eval-grid.png'), grid);
    const md = buildReport(s, results, sanityRows, advRows, since(t0), leaks);
    writeFileSync(join(args.out, 'evaluation.md'), md);
    log(`wrote ${join(args.out, 'evaluation.md')} and ${join(args.out, 'eval-grid.png')} in ${(since(t0) / 60).toFixed(1)} min | ${memoryLine()}`);
  } finally {
    for (const r of results) r.input.dispose();
    for (const m of models.values()) m.dispose();
  }
}

await main();
