// fgvis benchmark (issue 7). Run with `npm run bench [-- options]` (bench/run.mjs
// bundles this file with esbuild against src/ and runs it with node).
//
// Options:
//   --quick                 emotion on wasm only, few steps, 200-step memory run, folder run on 2 face crops (40 steps at most), no PyTorch
//   --models=graph,layers,emotion   --backends=wasm,cpu
//   --steps=N (wasm, timed steps after warm-up; default 12)   --cpu-steps=N (default 3)
//   --explain / --no-explain   total default explain() (not run for MobileNetV2 on cpu)
//   --mem-steps=N (emotion on wasm; default 1000, 0 = off)
//   --torch / --no-torch   --torch-steps=N   --batch=1,2,4,8 | off   --batch-steps=N (default 10)   --batch-reps=N (default 2)   --no-ablation
//   --torch-gates=fgvis|relu6   what PyTorch's defense gates (default: what fgvis's default gatedKernels gate; see torch_step.py)
//   Folder throughput (wasm; default explain() settings, steps matched on the PyTorch side):
//   --folder / --no-folder   explainFiles on image files with each worker count, then PyTorch's FGVis on the same files
//   --images=a.jpg,b.png     the files (default: the photos in assets/photos; emotion: crops of the astronaut's face)
//   --faces=N                emotion: number of face crops (default 6, quick 2)   --mirror   add mirrored copies of the files
//   --workers=1,2            worker counts (default 1 and the available cores)   --folder-reps=N (default 1)
//   --folder-steps=N         cap the steps (default: explain()'s own maximum; quick 40)   --torch-threads=2,1
//   --out=bench/results.json
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { explain, explainBatch } from '../src/core/explain';
import { AUTO_LAMBDA_DEFAULTS } from '../src/core/lambda';
import { EXPLAIN_DEFAULTS, resolveExplainOptions } from '../src/core/options';
import { ACTIVATION_KERNELS } from '../src/filter';
import { setSimdGate, simdGateAvailable } from '../src/filter/fast-gate';
import { LAYER_OUTPUT_KERNELS } from '../src/filter/gated-kernels';
import { adaptModel } from '../src/model/adapter';
import { builtinModel } from '../src/node/builtin-models';
import { readImage } from '../src/node/read-image';
import { timedStep, type TimedStep } from './lib/step';
import { faceCrops, manyRun, mirroredCopies, type ManyRun } from './lib/many';

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const flag = (name: string): boolean | undefined =>
  argv.includes(`--${name}`) ? true : argv.includes(`--no-${name}`) ? false : undefined;
const opt = (name: string): string | undefined => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = flag('quick') === true;
const MODELS: Record<string, string> = { graph: 'nsfw-mobilenet-v2-graph', layers: 'nsfw-mobilenet-v2', emotion: 'emotion' };
const models = (opt('models') ?? (quick ? 'emotion' : 'graph,layers,emotion')).split(',');
const backends = (opt('backends') ?? (quick ? 'wasm' : 'wasm,cpu')).split(',');
const wasmSteps = Number(opt('steps') ?? (quick ? 6 : 12));
const cpuSteps = Number(opt('cpu-steps') ?? 3);
const runExplain = flag('explain') ?? true;
const memSteps = Number(opt('mem-steps') ?? (quick ? 200 : 1000));
const runTorch = flag('torch') ?? !quick;
const torchSteps = Number(opt('torch-steps') ?? (quick ? 5 : 12));
const batchSizes = (opt('batch') ?? (quick ? 'off' : '1,2,4,8')) === 'off' ? [] : (opt('batch') ?? '1,2,4,8').split(',').map(Number);
const batchSteps = Number(opt('batch-steps') ?? 10);
const batchReps = Number(opt('batch-reps') ?? 2);
const ablation = flag('ablation') ?? true;
const outFile = opt('out') ?? 'bench/results.json';
const runFolder = flag('folder') ?? true;
const folderImages = opt('images')?.split(',');
const faceCount = Number(opt('faces') ?? (quick ? 2 : 6));
const mirror = flag('mirror') === true;
const workerCounts = (opt('workers') ?? [...new Set([1, availableParallelism()])].join(',')).split(',').map(Number);
const folderReps = Number(opt('folder-reps') ?? 1);
const folderSteps = opt('folder-steps') === undefined ? (quick ? 40 : undefined) : Number(opt('folder-steps'));
const torchThreads = (opt('torch-threads') ?? '2,1').split(',').map(Number);
// What PyTorch's defense gates: the ReLU6 outputs only, or also the layer outputs fgvis's default gates.
const defaultGates = EXPLAIN_DEFAULTS.gatedKernels.some((k) => LAYER_OUTPUT_KERNELS.includes(k)) ? 'fgvis' : 'relu6';
const torchGates = opt('torch-gates') ?? defaultGates;
const cacheDir = join('node_modules', '.cache', 'fgvis-bench');
for (const m of models) if (!(m in MODELS)) throw new Error(`--models: unknown ${m} (graph, layers, emotion)`);

// ---------------------------------------------------------------- helpers
interface Stats { median: number; min: number; max: number; n: number }
function stats(v: number[]): Stats {
  const s = [...v].sort((a, b) => a - b);
  return { median: s.length ? (s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN, min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, n: s.length };
}
const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`);
const fmt = (s: Stats) => `${ms(s.median)} [${ms(s.min)}..${ms(s.max)}]`;
const log = (...a: unknown[]) => console.error(...a); // progress on stderr, table on stdout
const mb = (b: number) => +(b / 2 ** 20).toFixed(1);
const peakRssMB = () => mb(process.resourceUsage().maxRSS * 1024);
/** The 1-minute load average now; every value taken is kept for the closing warning. */
const loadsSeen: number[] = [];
const load = () => {
  const l = loadavg()[0]!;
  loadsSeen.push(l);
  return l;
};

async function photo(name: string): Promise<tf.Tensor4D> {
  const bm = builtinModel(MODELS[name]!);
  const img = await readImage(name === 'emotion' ? 'assets/photos/astronaut.png' : 'assets/photos/chelsea.png');
  return bm.preprocess(img);
}

// ---------------------------------------------------------------- PyTorch
function ensureTorch(): string | null {
  const py = '/usr/bin/python3';
  const probe = () => spawnSync(py, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status === 0;
  if (probe()) return py;
  log('PyTorch missing: apt-get install -y python3-torch python3-torchvision');
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'python3-torch', 'python3-torchvision'], { stdio: 'inherit' });
  if (r.status !== 0 || !probe()) {
    log('could not install python3-torch; skipping the PyTorch reference');
    return null;
  }
  return py;
}

const TORCH_ARCH: Record<string, string> = { graph: 'mobilenet_v2_w14', layers: 'mobilenet_v2_w10_head' };

function torchRef(py: string, arch: string, threads: number): Record<string, unknown> | null {
  try {
    const out = execFileSync(py, ['bench/torch_step.py', '--arch', arch, '--threads', String(threads), '--steps', String(torchSteps), '--gates', torchGates], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 20 * 60_000,
    });
    return JSON.parse(out.trim().split('\n').pop()!);
  } catch (e) {
    log(`PyTorch reference failed: ${(e as Error).message}`);
    return null;
  }
}

/** PyTorch's FGVis on image files, each for the given number of steps (torch_step.py --explain); null on failure. */
function torchExplain(py: string, arch: string, threads: number, spec: Record<string, unknown>, tag: string): Record<string, unknown> | null {
  mkdirSync(cacheDir, { recursive: true });
  const specFile = join(cacheDir, `torch-explain-${tag}.json`);
  writeFileSync(specFile, JSON.stringify(spec, null, 2));
  const t0 = performance.now();
  try {
    const out = execFileSync(py, ['bench/torch_step.py', '--arch', arch, '--threads', String(threads), '--gates', torchGates, '--explain', specFile], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 60 * 60_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown> & { images: unknown[] };
    // The process's wall time: python and torch start-up, building the model, every image.
    const processSeconds = (performance.now() - t0) / 1000;
    return { ...r, process_s: processSeconds, wall_images_per_s: r.images.length / processSeconds };
  } catch (e) {
    log(`PyTorch explanations failed: ${(e as Error).message}`);
    return null;
  }
}

/** The image files of the folder run for a model: the photos (or the given files), face crops for emotion; mirrored copies on request. */
async function folderFiles(name: string): Promise<string[]> {
  let files: string[];
  if (folderImages) files = folderImages;
  else if (name === 'emotion') files = await faceCrops('assets/photos/astronaut.png', join(cacheDir, 'faces'), faceCount);
  else files = readdirSync('assets/photos').filter((f) => /\.(png|jpe?g|webp)$/i.test(f)).sort().map((f) => join('assets/photos', f));
  if (mirror) files = [...files, ...(await mirroredCopies(files, join(cacheDir, `mirrored-${name}`)))];
  return files;
}

/**
 * Folder throughput: explainFiles (default explain() settings) with each worker
 * count, and PyTorch's FGVis on the same files with the steps fgvis ran on each,
 * with each thread count, interleaved (fgvis 1 worker, PyTorch 2 threads, fgvis N
 * workers, PyTorch 1 thread, ...) so that machine noise hits both alike.
 */
async function folderThroughput(name: string, py: string | null): Promise<Row> {
  const files = await folderFiles(name);
  const arch = TORCH_ARCH[name];
  const options = folderSteps === undefined ? {} : { steps: folderSteps };
  log(`\n== folder: ${MODELS[name]}, ${files.length} images, workers ${workerCounts.join(', ')}${py && arch ? `, PyTorch ${arch} threads ${torchThreads.join(', ')}` : ''}`);
  const out: Row = { files, loadavg_start: load() };
  const runs: (ManyRun & { loadavg: number[] })[] = [];
  const torch: Record<string, Row[]> = {};
  let reference: string[] | undefined;
  let identical = true;
  let spec: Record<string, unknown> | undefined;
  for (let rep = 0; rep < folderReps; rep++) {
    const n = Math.max(workerCounts.length, py && arch ? torchThreads.length : 0);
    for (let i = 0; i < n; i++) {
      const workers = workerCounts[i];
      if (workers !== undefined) {
        const l0 = load();
        const { run: measured, prints, results } = await manyRun(MODELS[name]!, files, workers, options);
        const run = { ...measured, loadavg: [l0, load()] };
        reference ??= prints;
        identical &&= prints.every((p, j) => p === reference![j]);
        runs.push(run);
        log(`  fgvis, ${run.workers} worker(s): ${run.seconds.toFixed(1)} s, ${run.imagesPerSecond.toFixed(3)} images/s (steady ${run.steadyImagesPerSecond.toFixed(3)}), steps ${run.steps.join(' ')}${run.failed ? `, ${run.failed} FAILED` : ''}`);
        if (!spec && run.failed === 0) {
          // What explain() used (the worker's report and the resolved defaults), for PyTorch to do the same.
          const first = results[0]!;
          const o = resolveExplainOptions({}, 'bench');
          spec = {
            images: files.map((path, j) => ({ path, steps: results[j]!.steps })),
            game: first.game, optimizer: o.optimizer, learningRate: o.learningRate, readEvery: o.readEvery,
            autoLambda: { ...AUTO_LAMBDA_DEFAULTS, ...o.autoLambda }, defense: first.defense,
            reference: first.reference, blurSigma: o.blurSigma, seed: o.seed ?? 0,
            size: first.inputShape[1], fgvis_gated_outputs: first.gatedOutputs,
            fgvis_lambda: o.lambda, fgvis_max_steps: first.maxSteps,
          };
          out.explain_settings = spec;
        }
      }
      const threads = torchThreads[i];
      if (py && arch && threads !== undefined && spec) {
        log(`  PyTorch ${arch}, ${threads} thread(s), ${files.length} images...`);
        const l0 = load();
        const r = torchExplain(py, arch, threads, spec, `${name}-${threads}`);
        (torch[`threads_${threads}`] ??= []).push({ ...(r ?? { failed: true }), loadavg: [l0, load()] });
        if (r) log(`  PyTorch, ${threads} thread(s): ${(r.seconds as number).toFixed(1)} s explaining, ${(r.images_per_s as number).toFixed(3)} images/s (wall ${(r.wall_images_per_s as number).toFixed(3)}), ${((r.step_s_mean as number) * 1000).toFixed(0)} ms/step`);
      }
    }
  }
  out.runs = runs;
  out.identical = identical;
  out.pytorch = torch;
  out.loadavg_end = load();
  // Medians over the repeats, per worker / thread count.
  const medianOf = (v: number[]) => stats(v).median;
  out.fgvis_images_per_s = Object.fromEntries(workerCounts.map((w) => {
    const rs = runs.filter((r) => r.workers === Math.min(w, files.length));
    return [w, { steady: medianOf(rs.map((r) => r.steadyImagesPerSecond)), wall: medianOf(rs.map((r) => r.imagesPerSecond)), seconds: medianOf(rs.map((r) => r.seconds)) }];
  }));
  out.pytorch_images_per_s = Object.fromEntries(Object.entries(torch).map(([k, rs]) => {
    const ok = rs.filter((r) => !r.failed) as { images_per_s: number; wall_images_per_s: number; process_s: number; step_s_mean: number; gated_outputs?: number }[];
    return [k, ok.length ? { steady: medianOf(ok.map((r) => r.images_per_s)), wall: medianOf(ok.map((r) => r.wall_images_per_s)), seconds: medianOf(ok.map((r) => r.process_s)), step_ms: medianOf(ok.map((r) => r.step_s_mean * 1000)) } : null];
  }));
  return out;
}

// ---------------------------------------------------------------- one model on one backend
interface Row { [k: string]: unknown }

async function benchModel(backend: string, name: string, py: string | null): Promise<Row> {
  const row: Row = { backend, model: MODELS[name], loadavg_start: load() };
  const bm = builtinModel(MODELS[name]!);
  const model = (await bm.load()) as unknown;
  const x = await photo(name);
  const scorer = await adaptModel(model as never, x, { caller: 'bench' });
  const probs = tf.tidy(() => scorer.probs(x));
  const top = tf.argMax(probs, 1);
  const target = (await top.data())[0]!;
  top.dispose();
  probs.dispose();
  const big = name !== 'emotion';
  const steps = backend === 'cpu' ? cpuSteps : wasmSteps;
  const warm = backend === 'cpu' ? 1 : 2;
  log(`\n== ${backend} ${MODELS[name]} (target ${target})`);

  // Forward pass and steps, interleaved so that machine noise hits every variant alike.
  const forward = () => {
    const t0 = performance.now();
    tf.tidy(() => void scorer.probs(x).dataSync());
    return performance.now() - t0;
  };
  const variants: Record<string, TimedStep> = {
    defended: await timedStep(model as never, x, target, { defense: true }),
    undefended: await timedStep(model as never, x, target, { defense: false }),
    'defended, activations only': await timedStep(model as never, x, target, { defense: true, gatedKernels: ACTIVATION_KERNELS }),
  };
  row.simd_gate = simdGateAvailable();
  if (row.simd_gate) {
    // The same defended step with the gate as the JavaScript loop instead of WebAssembly SIMD.
    const js = await timedStep(model as never, x, target, { defense: true });
    variants['defended, JavaScript gate'] = {
      step: () => {
        const previous = setSimdGate(false);
        try {
          return js.step();
        } finally {
          setSimdGate(previous);
        }
      },
      dispose: () => js.dispose(),
    };
  }
  if (ablation && backend === 'wasm' && name !== 'emotion') {
    // The step as it was before this issue's optimisations (same run), then with each one added.
    variants['before (copying Identity, no filter cache, op-by-op gate, stock BN grad)'] = await timedStep(model as never, x, target, { defense: true }, {
      kernels: { shareSavedTensors: false, inputOnlyBatchNorm: false }, filter: { fused: false },
    });
    if (name === 'graph') {
      variants['+ shared saved tensors & flipped-filter cache'] = await timedStep(model as never, x, target, { defense: true }, { filter: { fused: false } });
    } else {
      variants['+ input-only BatchNorm gradient'] = await timedStep(model as never, x, target, { defense: true }, {
        kernels: { shareSavedTensors: false }, filter: { fused: false },
      });
      variants['+ shared saved tensors & flipped-filter cache'] = await timedStep(model as never, x, target, { defense: true }, { filter: { fused: false } });
    }
  }
  const times: Record<string, number[]> = { forward: [] };
  const phases: Record<string, { forward: number[]; backward: number[]; rest: number[] }> = {};
  for (const k of Object.keys(variants)) {
    times[k] = [];
    phases[k] = { forward: [], backward: [], rest: [] };
  }
  for (let i = 0; i < warm + steps; i++) {
    const f = forward();
    if (i >= warm) times['forward']!.push(f);
    // The variants' order rotates every iteration, so that a cost that depends on the position
    // (what the step before left behind: freed heap, garbage to collect) falls on each alike.
    const order = Object.entries(variants);
    for (const [k, v] of [...order.slice(i % order.length), ...order.slice(0, i % order.length)]) {
      const p = v.step();
      if (i < warm) continue;
      times[k]!.push(p.forward + p.backward + p.rest);
      phases[k]!.forward.push(p.forward);
      phases[k]!.backward.push(p.backward);
      phases[k]!.rest.push(p.rest);
    }
    log(`  iteration ${i + 1}/${warm + steps}: ` + Object.entries(times).map(([k, t]) => `${k.split(' ')[0]} ${t.length ? ms(t[t.length - 1]!) : '-'}`).join(', '));
  }
  for (const v of Object.values(variants)) v.dispose();
  const fwd = stats(times['forward']!);
  row.forward_ms = fwd;
  row.step_ms = Object.fromEntries(Object.keys(variants).map((k) => [k, stats(times[k]!)]));
  row.phases_ms = Object.fromEntries(
    Object.entries(phases).map(([k, p]) => [k, { forward: stats(p.forward).median, backward: stats(p.backward).median, rest: stats(p.rest).median }]),
  );
  // Ratios of medians of the same interleaved run.
  const med = (k: string) => stats(times[k]!).median;
  row.defense_overhead = med('defended') / med('undefended') - 1;
  row.defense_overhead_activations_only = med('defended, activations only') / med('undefended') - 1;
  if (times['defended, JavaScript gate']) row.defense_overhead_js_gate = med('defended, JavaScript gate') / med('undefended') - 1;
  row.step_in_forward_passes = Object.fromEntries(Object.keys(variants).map((k) => [k, med(k) / fwd.median]));

  // explain() itself: per-step times from onStep (readEvery 1), defended.
  {
    const stamps: number[] = [];
    let last = performance.now();
    const memBefore = tf.memory().numBytes;
    const r = await explain(model as never, x, target, {
      steps: warm + steps, earlyStop: false, readEvery: 1,
      onStep: () => { const now = performance.now(); stamps.push(now - last); last = now; },
    });
    r.dispose();
    row.explain_step_ms = stats(stamps.slice(warm));
    row.explain_step_in_forward_passes = stats(stamps.slice(warm)).median / fwd.median;
    row.tf_memory_bytes_delta_after_explain = tf.memory().numBytes - memBefore;
  }

  // A default explain(): total time, steps run, forward-pass equivalents.
  if (runExplain && !(backend === 'cpu' && big)) {
    const t0 = performance.now();
    const r = await explain(model as never, x, target);
    const total = performance.now() - t0;
    row.explain_default = {
      total_ms: total, steps: r.steps, forward_pass_equivalents: total / fwd.median,
      per_step_ms: total / r.steps, score_image: r.scores.image, score_explanation: r.scores.explanation, mask_mean: r.maskMean,
    };
    r.dispose();
  }

  // Memory over a long run (emotion, wasm): tf.memory() and RSS every 100 steps.
  if (name === 'emotion' && backend === 'wasm' && memSteps > 0) {
    const samples: { step: number; tfBytes: number; tensors: number; rssMB: number; heapMB: number }[] = [];
    const wasmHeap = () => mb(((tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length) ?? 0);
    const t0 = performance.now();
    const r = await explain(model as never, x, target, {
      steps: memSteps, earlyStop: false, readEvery: 10,
      onStep: (s) => {
        if (s.step === 1 || s.step % 100 === 0) {
          samples.push({ step: s.step, tfBytes: tf.memory().numBytes, tensors: tf.memory().numTensors, rssMB: mb(process.memoryUsage().rss), heapMB: wasmHeap() });
        }
      },
    });
    r.dispose();
    const first = samples.find((s) => s.step >= 100) ?? samples[0]!;
    const lastS = samples[samples.length - 1]!;
    row.memory_run = {
      steps: memSteps, seconds: (performance.now() - t0) / 1000, samples,
      tf_bytes_growth_from_step_100: lastS.tfBytes - first.tfBytes,
      tensors_growth_from_step_100: lastS.tensors - first.tensors,
      rss_growth_MB_from_step_100: +(lastS.rssMB - first.rssMB).toFixed(1),
    };
  }

  // explainBatch(): the top-n classes in one batched run against n explain() calls
  // (wasm, graph model; fixed steps without early stopping, so both do the same work).
  if (batchSizes.length && backend === 'wasm' && name === 'graph') {
    const out: Row[] = [];
    const order = await (async () => {
      const p = tf.tidy(() => scorer.probs(x));
      const v = Array.from(await p.data());
      p.dispose();
      return v.map((q, c) => [q, c] as const).sort((a, b) => b[0] - a[0]).map(([, c]) => c);
    })();
    const fixed = { steps: batchSteps, earlyStop: false, backoff: false } as const;
    const timeOf = async (f: () => Promise<{ dispose(): void } | { dispose(): void }[]>) => {
      const t0 = performance.now();
      const r = await f();
      const t = performance.now() - t0;
      for (const e of Array.isArray(r) ? r : [r]) e.dispose();
      return t;
    };
    await timeOf(() => explain(model as never, x, target, { ...fixed, steps: 2 })); // warm-up
    // n explanations one at a time against one batched run, alternated and repeated, so that
    // machine noise hits both alike; medians of the repeats.
    const sizes = [...new Set(batchSizes.map((n) => Math.min(n, order.length)))];
    for (const n of sizes) {
      const targets = order.slice(0, n);
      const singles: number[] = [];
      const batches: number[] = [];
      for (let rep = 0; rep < batchReps; rep++) {
        let t = 0;
        for (const c of targets) t += await timeOf(() => explain(model as never, x, c, fixed));
        singles.push(t);
        batches.push(n === 1 ? t : await timeOf(() => explainBatch(model as never, x, targets, { ...fixed, batchSize: n })));
      }
      const one = stats(singles).median;
      const batched = stats(batches).median;
      out.push({ batch: n, one_at_a_time_ms: one, total_ms: batched, per_explanation_ms: batched / n, throughput_vs_one_at_a_time: one / batched });
      log(`  ${n} explanations: one at a time ${ms(one)}, explainBatch ${ms(batched)} (${ms(batched / n)} per explanation, x${(one / batched).toFixed(2)})`);
    }
    row.batched = { steps: batchSteps, runs: out };
  }

  if (py && backend === 'wasm' && big) {
    const arch = name === 'graph' ? 'mobilenet_v2_w14' : 'mobilenet_v2_w10_head';
    const torch: Row = {};
    for (const threads of [2, 1]) {
      log(`  PyTorch ${arch}, ${threads} thread(s)...`);
      torch[`threads_${threads}`] = torchRef(py, arch, threads);
    }
    row.pytorch = torch;
    const t2 = torch['threads_2'] as { step_s?: Stats } | null;
    if (t2?.step_s) row.fgvis_over_pytorch_step_2threads = med('defended') / (t2.step_s.median * 1000);
    const t1 = torch['threads_1'] as { step_s?: Stats } | null;
    if (t1?.step_s) row.fgvis_over_pytorch_step_1thread = med('defended') / (t1.step_s.median * 1000);
  }
  row.peak_rss_MB = peakRssMB();
  row.tf_memory_bytes_end = tf.memory().numBytes;
  row.loadavg_end = load();
  x.dispose();
  (model as { dispose?: () => void }).dispose?.();
  return row;
}

// ---------------------------------------------------------------- main
/** explain()'s defaults as this run used them (read from the library, never restated here). */
function explainDefaults(): Record<string, unknown> {
  const { activations: _deprecated, ...d } = EXPLAIN_DEFAULTS as unknown as Record<string, unknown>;
  return JSON.parse(JSON.stringify({ ...d, autoLambda: AUTO_LAMBDA_DEFAULTS })) as Record<string, unknown>;
}

function defaultsLine(d: Record<string, unknown>): string {
  return Object.entries(d).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join('/') : JSON.stringify(v)}`).join(', ');
}

interface Rate { steady: number; wall: number; seconds: number; step_ms?: number }

/** One line per model (wasm backend): the figures issue 13 asks for. */
function summaryRows(rows: Row[]): Row[] {
  return rows.filter((r) => r.backend === 'wasm').map((r) => {
    const step = r.step_ms as Record<string, Stats>;
    const ex = r.explain_default as { total_ms: number; steps: number; forward_pass_equivalents: number } | undefined;
    const f = r.folder as { files: string[]; runs: ManyRun[]; identical: boolean; fgvis_images_per_s: Record<string, Rate>; pytorch_images_per_s: Record<string, Rate | null> } | undefined;
    const out: Row = {
      model: r.model,
      forward_ms: (r.forward_ms as Stats).median,
      defended_step_ms: step['defended']!.median,
      undefended_step_ms: step['undefended']!.median,
      step_in_forward_passes: (r.step_in_forward_passes as Record<string, number>)['defended'],
      defense_overhead: r.defense_overhead,
      explain_forward_pass_equivalents: ex?.forward_pass_equivalents,
      explain_steps: ex?.steps,
      explain_seconds: ex && ex.total_ms / 1000,
      fgvis_over_pytorch_step_2threads: r.fgvis_over_pytorch_step_2threads,
      fgvis_over_pytorch_step_1thread: r.fgvis_over_pytorch_step_1thread,
    };
    if (f) {
      const ws = Object.keys(f.fgvis_images_per_s).map(Number).sort((a, b) => a - b);
      const nMax = ws[ws.length - 1]!;
      const fN = f.fgvis_images_per_s[nMax];
      const t2 = f.pytorch_images_per_s['threads_2'];
      out.folder = {
        images: f.files.length, steps: f.runs[0]?.steps, identical: f.identical,
        fgvis_workers: f.fgvis_images_per_s, pytorch_threads: f.pytorch_images_per_s,
        max_workers: nMax,
        fgvis_max_workers_over_pytorch_2threads: fN && t2 ? { steady: fN.steady / t2.steady, wall: fN.wall / t2.wall } : null,
      };
    }
    return out;
  });
}

function summaryTable(rows: Row[]): string {
  const sum = summaryRows(rows);
  if (!sum.length) return '';
  const num = (v: unknown, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '-');
  const pct = (v: unknown) => (typeof v === 'number' ? `${v >= 0 ? '+' : ''}${(v * 100).toFixed(0)} %` : '-');
  const rate = (v: Rate | null | undefined) => (v ? `${num(v.steady, 3)} (${num(v.wall, 3)})` : '-');
  const nMax = Math.max(1, ...sum.map((s) => ((s.folder as Row | undefined)?.max_workers as number) ?? 1));
  const lines = [
    `| model | forward | defended step | undefended step | step / forward | defense overhead | default explain(): forward passes (steps) | fgvis / PyTorch step, 2 / 1 thr | folder: images, steps | fgvis 1 worker | fgvis ${nMax} workers | PyTorch 2 thr | PyTorch 1 thr | fgvis ${nMax} workers / PyTorch 2 thr | same masks |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of sum) {
    const f = s.folder as { images: number; steps?: number[]; identical: boolean; fgvis_workers: Record<string, Rate>; pytorch_threads: Record<string, Rate | null>; max_workers: number; fgvis_max_workers_over_pytorch_2threads: { steady: number; wall: number } | null } | undefined;
    const ratio = f?.fgvis_max_workers_over_pytorch_2threads;
    const stepsCell = f?.steps?.length ? `${f.images}, ${Math.min(...f.steps)}-${Math.max(...f.steps)} (${f.steps.reduce((a, b) => a + b, 0)})` : '-';
    lines.push(
      `| ${s.model} | ${ms(s.forward_ms as number)} | ${ms(s.defended_step_ms as number)} | ${ms(s.undefended_step_ms as number)} | ${num(s.step_in_forward_passes, 1)} | ${pct(s.defense_overhead)} ` +
        `| ${s.explain_forward_pass_equivalents !== undefined ? `${num(s.explain_forward_pass_equivalents, 0)} (${s.explain_steps})` : '-'} ` +
        `| ${num(s.fgvis_over_pytorch_step_2threads)} / ${num(s.fgvis_over_pytorch_step_1thread)} | ${stepsCell} ` +
        `| ${rate(f?.fgvis_workers['1'])} | ${rate(f?.fgvis_workers[String(f?.max_workers)])} | ${rate(f?.pytorch_threads['threads_2'])} | ${rate(f?.pytorch_threads['threads_1'])} ` +
        `| ${ratio ? `${num(ratio.steady)} (${num(ratio.wall)})` : '-'} | ${f ? (f.identical ? 'yes' : 'NO') : '-'} |`,
    );
  }
  lines.push(
    '',
    'wasm backend, medians. Steps: interleaved with forward passes in one run; defense overhead = defended / undefended step - 1. ' +
      'Default explain(): one explain() with default options on one photo (chelsea; emotion: the astronaut), its time over the forward pass. ' +
      'Folder: explainFiles() with default options on the listed files (steps: fewest-most per image, total), images/s as ' +
      '"steady (wall)": steady = workers x images / the images\' summed time in their workers (reading, preprocessing, explain()), ' +
      'wall = images / the whole run (workers started and models loaded, the tail included). PyTorch (bench/torch_step.py --explain, ' +
      'random weights, matched architecture): each file explained for exactly the steps fgvis ran on it; steady = images / summed ' +
      'per-image time (reading, resizing, the explanation), wall = images / the python process (start-up and model building included). ' +
      'same masks: every worker count gave bit-identical results.' +
      (folderSteps !== undefined ? ` Folder steps capped at ${folderSteps} (--folder-steps): not explain()'s default.` : ''),
  );
  return lines.join('\n');
}

function table(rows: Row[]): string {
  const lines: string[] = [];
  const r2 = (v: unknown) => (typeof v === 'number' ? v.toFixed(2) : '-');
  const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(0)} %` : '-');
  lines.push('| backend | model | forward | defended step | undefended step | defense overhead (activations only) | step / forward | explain() step | default explain() | explain in fwd passes | fgvis / PyTorch step (2 thr, 1 thr) | peak RSS |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const step = r.step_ms as Record<string, Stats>;
    const ex = r.explain_default as { total_ms: number; steps: number; forward_pass_equivalents: number } | undefined;
    lines.push(`| ${r.backend} | ${r.model} | ${fmt(r.forward_ms as Stats)} | ${fmt(step['defended']!)} | ${fmt(step['undefended']!)} | ${pct(r.defense_overhead)} (${pct(r.defense_overhead_activations_only)}) | ${r2((r.step_in_forward_passes as Record<string, number>)['defended'])} | ${fmt(r.explain_step_ms as Stats)} | ${ex ? `${ms(ex.total_ms)} (${ex.steps} steps)` : '-'} | ${ex ? ex.forward_pass_equivalents.toFixed(0) : '-'} | ${r2(r.fgvis_over_pytorch_step_2threads)}, ${r2(r.fgvis_over_pytorch_step_1thread)} | ${r.peak_rss_MB} MB |`);
  }
  for (const r of rows) {
    const step = r.step_ms as Record<string, Stats>;
    if (Object.keys(step).length > 2) {
      lines.push(`\nSame-run ablation, ${r.backend} ${r.model} (median step, in forward passes; phases forward/backward/rest):`);
      for (const [k, s] of Object.entries(step)) {
        const p = (r.phases_ms as Record<string, { forward: number; backward: number; rest: number }>)[k]!;
        lines.push(`  ${k.padEnd(62)} ${ms(s.median).padStart(9)}  ${((r.step_in_forward_passes as Record<string, number>)[k]!).toFixed(2)} fwd   (${ms(p.forward)} / ${ms(p.backward)} / ${ms(p.rest)})`);
      }
    }
    if (r.batched) {
      const b = r.batched as { steps: number; runs: { batch: number; one_at_a_time_ms: number; total_ms: number; per_explanation_ms: number; throughput_vs_one_at_a_time: number }[] };
      lines.push(`\nexplainBatch, ${r.backend} ${r.model}: the top-n classes in one batched run, ${b.steps} steps each (defended, no early stopping), against n explain() calls (medians of ${batchReps}, alternated):`);
      for (const x of b.runs) {
        lines.push(`  n = ${String(x.batch).padStart(2)}: one at a time ${ms(x.one_at_a_time_ms)}, explainBatch ${ms(x.total_ms)} (${ms(x.per_explanation_ms)} per explanation), throughput x${x.throughput_vs_one_at_a_time.toFixed(2)}`);
      }
    }
    if (r.pytorch) {
      for (const [k, t] of Object.entries(r.pytorch as Record<string, { forward_s: Stats; step_s: Stats; arch: string } | null>)) {
        if (t) lines.push(`PyTorch ${t.arch} ${k}: forward ${ms(t.forward_s.median * 1000)}, step ${ms(t.step_s.median * 1000)} (${(t.step_s.median / t.forward_s.median).toFixed(2)} fwd)`);
      }
    }
    if (r.folder) {
      const f = r.folder as { files: string[]; runs: ManyRun[]; identical: boolean; explain_settings?: Record<string, unknown>; pytorch: Record<string, Row[]>; loadavg_start: number; loadavg_end: number };
      lines.push(`\nFolder, ${r.backend} ${r.model}: ${f.files.length} files (${f.files.join(', ')}), load ${f.loadavg_start.toFixed(1)} -> ${f.loadavg_end.toFixed(1)}; every worker count gave ${f.identical ? 'bit-identical results' : 'DIFFERENT results'}`);
      const st = f.explain_settings;
      if (st) lines.push(`  as run: reference ${JSON.stringify(st.reference)}, max steps ${st.fgvis_max_steps}, defense ${st.defense} (fgvis gated ${st.fgvis_gated_outputs} outputs)`);
      for (const run of f.runs) {
        lines.push(`  fgvis ${run.workers} worker(s): ${run.seconds.toFixed(1)} s, ${run.imagesPerSecond.toFixed(3)} images/s wall, ${run.steadyImagesPerSecond.toFixed(3)} steady; explain() median ${run.explainSeconds.toFixed(1)} s; steps ${run.steps.join(' ')}${run.failed ? `; ${run.failed} failed` : ''}`);
      }
      for (const [k, rs] of Object.entries(f.pytorch)) {
        for (const t of rs) {
          if (t.failed) { lines.push(`  PyTorch ${k}: failed`); continue; }
          const imgs = t.images as { seconds: number; steps: number }[];
          lines.push(`  PyTorch ${t.arch} ${k}: ${(t.process_s as number).toFixed(1)} s process (load ${(t.load_s as number).toFixed(1)} s), ${(t.images_per_s as number).toFixed(3)} images/s steady, ${(t.wall_images_per_s as number).toFixed(3)} wall; ${((t.step_s_mean as number) * 1000).toFixed(0)} ms per step; gated ${imgs.length ? (t.images as { gated_outputs: number }[])[0]!.gated_outputs : '-'} outputs; per image ${imgs.map((i) => `${i.seconds.toFixed(1)} s`).join(' ')}`);
        }
      }
    }
    if (r.memory_run) {
      const m = r.memory_run as { steps: number; samples: { step: number; tfBytes: number; tensors: number; rssMB: number; heapMB: number }[]; tf_bytes_growth_from_step_100: number; rss_growth_MB_from_step_100: number };
      lines.push(`\nMemory over ${m.steps} steps, ${r.backend} ${r.model}: tf.memory() bytes growth from step 100 = ${m.tf_bytes_growth_from_step_100} B, RSS growth = ${m.rss_growth_MB_from_step_100} MB`);
      lines.push('  ' + m.samples.map((s) => `step ${s.step}: ${(s.tfBytes / 1024).toFixed(0)} KiB / ${s.tensors} tensors / RSS ${s.rssMB} MB / wasm heap ${s.heapMB} MB`).join('\n  '));
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  const py = runTorch ? ensureTorch() : null;
  const rows: Row[] = [];
  for (const backend of backends) {
    if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} unavailable`);
    await tf.ready();
    for (const m of models) {
      const row = await benchModel(backend, m, py);
      if (backend === 'wasm' && runFolder) row.folder = await folderThroughput(m, py);
      rows.push(row);
    }
  }
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, tfjs: tf.version_core, loadavg_end: loadavg() };
  const defaults = explainDefaults();
  const result = {
    started, finished: new Date().toISOString(), machine, explain_defaults: defaults,
    options: { models, backends, wasmSteps, cpuSteps, memSteps, torchSteps, torchGates, batchSizes, batchSteps, batchReps, folder: runFolder, workerCounts, torchThreads, folderReps, folderSteps, mirror },
    summary: summaryRows(rows), rows,
  };
  writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
  console.log(`fgvis benchmark ${started.slice(0, 16).replace('T', ' ')} UTC (${machine.cpus} x ${machine.cpu}, node ${machine.node}, tfjs ${machine.tfjs}, load ${rows.map((r) => (r.loadavg_start as number).toFixed(1)).join(' ')} at each row's start, ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end)`);
  const peak = Math.max(...loadsSeen, load());
  if (peak > machine.cpus) {
    console.log(`WARNING: the load average reached ${peak.toFixed(1)} on ${machine.cpus} cores during this run: other jobs shared the machine, and every figure is slower than ` +
      `on a quiet machine, PyTorch with several threads most of all (its OpenMP threads spin while they wait for a core). Rerun when the load is below ${machine.cpus} before comparing.`);
  }
  console.log(`explain() defaults used: ${defaultsLine(defaults)}`);
  console.log(`PyTorch ${torchGates === 'fgvis' ? 'gates the outputs fgvis gates (ReLU6 and layer outputs; see bench/torch_step.py)' : 'gates the ReLU6 outputs only'}\n`);
  console.log(summaryTable(rows));
  console.log('');
  console.log(table(rows));
  console.log(`\nwritten ${outFile}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
