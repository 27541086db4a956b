/**
 * `node scripts/eval.mjs known-evidence [options]`: the known-evidence
 * benchmark (benchmark.ts) on the wasm backend, printed as Markdown and
 * written as JSON (and a figure).
 *
 * Options:
 *   --split tune|heldout   which images (default tune; quality claims: heldout)
 *   --images N             how many (default 24; quick: 3)
 *   --start I              first image index (default 0)
 *   --methods a,b,...      subset of: fgvis, fgvisUndefended, fgvisDeletion,
 *                          fgvisRef:zero|mean|blur|noise, gradient, smoothGrad,
 *                          integratedGradients, gradCam, occlusion, meaningfulPerturbation,
 *                          meaningfulPerturbation:preservation, occlusion:blur, integratedGradients:blur
 *   --roles alternate|a|b|both|c   which model explains (default alternate: a on even, b on odd
 *                          indices; c: the smooth-nonlinearity model c explains, model b reads)
 *   --gated-kernels L      explain()'s gatedKernels for every FGVis run and the least-likely test:
 *                          a comma-separated list of kernel names, or a preset: default,
 *                          smooth (default + Sigmoid, Tanh, Softplus, Erf), smooth+mul (smooth + Multiply)
 *   --ll N                 least-likely test on the first N images (default 12; 0 = skip)
 *   --ll-refs r,...        its references (default zero,mean,blur,noise)
 *   --ll-target least|absent   its target: the least likely class (default), or the least likely
 *                          of those the model scores < 0.2 on the empty image (benchmark.ts)
 *   --quick                the quick settings (few steps; a smoke run)
 *   --fgvis JSON           explain() options for every FGVis row (a study of defaults; e.g. '{"steps":300}')
 *   --out FILE.json        write the JSON there, and the Markdown next to it (FILE.md)
 *   --figure FILE.png      a figure of the first (up to 4) images: the saliency of FGVis
 *                          (defaults, defense off, mean/blur/noise references, deletion
 *                          with zero and blur) and of the baselines
 */
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-wasm';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writePNG } from '../../../src/node';
import { evaluationGrid } from '../grid';
import { DEFAULT_GATED_KERNELS, SMOOTH_ACTIVATION_KERNELS } from '../../../src/filter';
import type { ExplainOptions } from '../../../src';
import { ALL_METHODS, FULL, QUICK, REFERENCES, runKnownEvidence, type MethodKey, type ReferenceName, type Settings } from './benchmark';
import { reportMarkdown } from './report';
import { generate, SIZE, type SplitName } from './shapes';

interface Args {
  split: SplitName;
  images: number;
  start: number;
  methods?: MethodKey[];
  roles: 'alternate' | 'a' | 'b' | 'both' | 'c';
  gatedKernels?: readonly string[];
  llRefs?: ReferenceName[];
  llTarget?: 'least' | 'absent';
  ll?: number;
  quick: boolean;
  /** explain() overrides for every FGVis row (`--fgvis JSON`), over the settings' own. */
  fgvis?: ExplainOptions;
  out?: string;
  figure?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { split: 'tune', images: NaN, start: 0, roles: 'alternate', quick: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${k} needs a value`);
      return v;
    };
    if (k === '--split') {
      const v = next();
      if (v !== 'tune' && v !== 'heldout') throw new Error(`--split must be tune or heldout, got ${v}`);
      a.split = v;
    } else if (k === '--images') a.images = Number(next());
    else if (k === '--start') a.start = Number(next());
    else if (k === '--methods') {
      const ms = next().split(',') as MethodKey[];
      for (const m of ms) if (!ALL_METHODS.includes(m)) throw new Error(`unknown method ${m}; known: ${ALL_METHODS.join(', ')}`);
      a.methods = ms;
    } else if (k === '--roles') a.roles = next() as Args['roles'];
    else if (k === '--gated-kernels') a.gatedKernels = gatedKernelsPreset(next());
    else if (k === '--ll-target') {
      const v = next();
      if (v !== 'least' && v !== 'absent') throw new Error(`--ll-target must be least or absent, got ${v}`);
      a.llTarget = v;
    } else if (k === '--ll-refs') {
      const rs = next().split(',') as ReferenceName[];
      for (const r of rs) if (!REFERENCES.includes(r)) throw new Error(`unknown reference ${r}; known: ${REFERENCES.join(', ')}`);
      a.llRefs = rs;
    }
    else if (k === '--ll') a.ll = Number(next());
    else if (k === '--quick') a.quick = true;
    else if (k === '--fgvis') a.fgvis = JSON.parse(next()) as ExplainOptions;
    else if (k === '--out') a.out = next();
    else if (k === '--figure') a.figure = next();
    else if (k === '--help' || k === '-h') {
      console.log('usage: node scripts/eval.mjs known-evidence [--split tune|heldout] [--images N] [--start I] [--methods ...] [--roles alternate|a|b|both] [--ll N] [--quick] [--out FILE.json] [--figure FILE.png]');
      process.exit(0);
    } else throw new Error(`unknown argument ${k}`);
  }
  if (Number.isNaN(a.images)) a.images = a.quick ? 3 : 24;
  return a;
}

function gatedKernelsPreset(v: string): readonly string[] {
  if (v === 'default') return DEFAULT_GATED_KERNELS;
  if (v === 'smooth') return [...DEFAULT_GATED_KERNELS, ...SMOOTH_ACTIVATION_KERNELS];
  if (v === 'smooth+mul') return [...DEFAULT_GATED_KERNELS, ...SMOOTH_ACTIVATION_KERNELS, 'Multiply'];
  return v.split(',').filter((k) => k.length > 0);
}

/** JSON replacer: numbers to 6 significant digits (the file stays small; scores like 1e-9 keep their magnitude). */
export function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value) ? Number(value.toPrecision(6)) : value;
}

/** The methods shown in the figure (a readable subset; every method is in the tables), with short row labels. */
const FIGURE_METHODS: ReadonlyArray<readonly [MethodKey, string]> = [
  ['fgvis', 'FGVis defaults'],
  ['fgvisUndefended', 'FGVis no defense'],
  ['fgvisRef:mean', 'FGVis mean'],
  ['fgvisRef:blur', 'FGVis blur'],
  ['fgvisRef:noise', 'FGVis noise'],
  ['fgvisDeletion', 'FGVis del. defaults'],
  ['fgvisDeletionRef:blur', 'FGVis del. blur'],
  ['gradient', 'Gradient'],
  ['smoothGrad', 'Smooth- Grad'],
  ['integratedGradients', 'IG'],
  ['gradCam', 'Grad-CAM'],
  ['occlusion', 'Occlusion'],
  ['meaningfulPerturbation:preservation', 'MP pres.'],
];

function log(s: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
}

/** The settings with explain() overrides for every FGVis row. */
function withFgvis(settings: Settings, fgvis: ExplainOptions | undefined): Settings {
  return fgvis ? { ...settings, fgvis: { ...settings.fgvis, ...fgvis } } : settings;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!(await tf.setBackend('wasm'))) throw new Error('could not initialise the tfjs wasm backend');
  await tf.ready();
  const startTensors = tf.memory().numTensors;
  const report = await runKnownEvidence({
    split: args.split,
    images: args.images,
    start: args.start,
    methods: args.methods,
    roles: args.roles,
    gatedKernels: args.gatedKernels,
    leastLikelyReferences: args.llRefs,
    leastLikelyTarget: args.llTarget,
    settings: withFgvis(args.quick ? QUICK : FULL, args.fgvis),
    leastLikelyImages: args.ll,
    keepSaliency: args.figure !== undefined,
    log,
  });
  const md = reportMarkdown(report);
  console.log('\n' + md);
  const endTensors = tf.memory().numTensors;
  console.log(`\ntf.memory().numTensors: ${startTensors} before, ${endTensors} after${endTensors !== startTensors ? '  <-- LEAK' : ''}`);
  if (args.out) {
    mkdirSync(dirname(args.out), { recursive: true });
    const slim = { ...report, rows: report.rows.map((r) => ({ ...r, methods: r.methods.map(({ saliency: _s, ...m }) => m) })) };
    writeFileSync(args.out, JSON.stringify(slim, roundNumbers, 1) + '\n');
    writeFileSync(args.out.replace(/\.json$/, '') + '.md', md + '\n');
    log(`wrote ${args.out}`);
  }
  if (args.figure) {
    const rows = report.rows.slice(0, 4);
    const shown = FIGURE_METHODS.filter(([m]) => report.summary.some((s) => s.method === m));
    const methods = shown.map(([m]) => m);
    const inputs = rows.map((r) => tf.tensor4d(generate(args.split, r.index).pixels, [1, SIZE, SIZE, 3]));
    const cells = methods.map((m) => rows.map((r) => {
      const q = r.methods.find((x) => x.method === m);
      return q?.saliency ? { values: q.saliency, width: SIZE, height: SIZE } : null;
    }));
    const captions = methods.map((m) => rows.map((r) => {
      const q = r.methods.find((x) => x.method === m);
      return q && !q.error ? `E ${q.energy.toFixed(2)} k ${q.keptAtK.toFixed(2)}` : '';
    }));
    const grid = await evaluationGrid(
      rows.map((r, c) => ({ input: inputs[c]!, range: [0, 1] as const, caption: `${r.className} (${r.explainer})` })),
      shown.map(([, label]) => label),
      cells,
      captions,
      { cellSize: 80, title: `known evidence, ${args.split}: saliency (E = energy in region, k = kept@k)` },
    );
    tf.dispose(inputs);
    mkdirSync(dirname(args.figure), { recursive: true });
    await writePNG(args.figure, grid);
    log(`wrote ${args.figure}`);
  }
  if (report.tensors.after !== report.tensors.before || endTensors !== startTensors) process.exitCode = 3;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
